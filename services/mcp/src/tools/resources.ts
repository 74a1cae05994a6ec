/**
 * `list_resources` and `describe_resource`: what the caller can point the
 * other tools at. A PostgreSQL resource is described by a catalog query
 * (information_schema.columns: names and types, never rows) that is itself
 * a command — recorded and judged like any `query`, so a policy that keeps
 * a caller out of the catalog keeps describe_resource out too. Each table
 * then says what the policy in force would do with `SELECT *` from it for
 * this caller (allow, mask — the masked columns marked —, hold); tables the
 * caller may not read at all are left out. Those probes are decided, never
 * run or recorded.
 */
import pg from 'pg';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { newId, nowIso, type CommandRequested, type Identity, type VerdictIssued } from '@portcullis/schemas';
import type { SessionRecord } from '@portcullis/kit';
import { evaluate } from '@portcullis/policy-decision';
import type { PostgresResource } from '@portcullis/proxy-postgres';
import type { ServiceContext } from '../context.ts';
import { allResources, refOf, type AnyResource } from '../resources.ts';
import { capText, errorResult, textResult } from '../result.ts';
import { clientConfig, sqlCommand } from './query.ts';

const TOOL_OF = { postgres: 'query', ssh: 'exec', http: 'http_request', kubernetes: 'http_request' } as const;

export function listResources(ctx: ServiceContext): CallToolResult {
  const resources = allResources(ctx.config).map((r) => ({ name: r.name, kind: refOf(r).kind, tags: r.tags, tool: TOOL_OF[refOf(r).kind as keyof typeof TOOL_OF] }));
  const text = resources.map((r) => `${r.name}\t${r.kind}\t${r.tool}\t${r.tags.join(',')}`).join('\n');
  return textResult(`name\tkind\ttool\ttags\n${text}`, { resources });
}

interface TableDescription {
  table: string;
  columns: { name: string; type: string; masked?: string }[];
  /** What `SELECT *` from the table would get: allow, mask, hold or block (unknown when the policy is not at hand). */
  access: string;
  rules?: string[];
}

/** The catalog query describe_resource runs (judged as a `query` of the caller). */
export const CATALOG_SQL = `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
 WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
 ORDER BY table_schema, table_name, ordinal_position LIMIT 5000`;

/** SSH, HTTP and Kubernetes resources: how to reach them (nothing is sent to the target). */
export function describeEndpoint(resource: Exclude<AnyResource, PostgresResource>): CallToolResult {
  if (resource.protocol === 'ssh') {
    return textResult(`${resource.name}: SSH host; commands run with the exec tool as "${resource.target.user}"`, { name: resource.name, kind: 'ssh', user: resource.target.user, tags: resource.tags });
  }
  return textResult(`${resource.name}: ${resource.protocol === 'kubernetes' ? 'Kubernetes API' : 'HTTP API'}; call it with http_request (method, path such as /v1/…)`, { name: resource.name, kind: resource.protocol, tags: resource.tags });
}

/** Runs CATALOG_SQL (already judged: `verdict`) and describes each table the caller may read. */
export async function describeDatabase(ctx: ServiceContext, identity: Identity, resource: PostgresResource, _verdict: VerdictIssued, commandId: string, record: SessionRecord): Promise<CallToolResult> {
  const started = Date.now();
  const client = new pg.Client(clientConfig(resource, ctx.config.settings));
  client.on('error', () => undefined);
  let rows: { table_schema: string; table_name: string; column_name: string; data_type: string }[];
  try {
    await client.connect();
    rows = (await client.query(CATALOG_SQL)).rows;
  } catch (err) {
    const error = `the catalog could not be read (${(err as { code?: string }).code ?? 'error'})`;
    record.commandCompleted({ commandId, status: 'failed', durationMs: Date.now() - started, error });
    return errorResult('PCL_ERR_TARGET', `${resource.name}: ${error}`);
  } finally {
    void client.end().catch(() => undefined);
  }
  record.commandCompleted({ commandId, status: 'executed', durationMs: Date.now() - started, tag: `SELECT ${rows.length}`, rows: rows.length });
  const tables = new Map<string, TableDescription>();
  for (const r of rows) {
    const name = `${r.table_schema}.${r.table_name}`;
    const t = tables.get(name) ?? { table: name, columns: [], access: 'unknown' };
    t.columns.push({ name: r.column_name, type: r.data_type });
    tables.set(name, t);
  }
  const state = ctx.policyState?.();
  if (state) {
    for (const t of tables.values()) {
      const probe = probeCommand(identity, resource, `SELECT * FROM ${quoteQualified(t.table)}`);
      const { decision } = await evaluate(probe, state);
      t.access = decision.effect;
      t.rules = decision.ruleIds;
      for (const c of decision.mask?.referenced ?? []) {
        const col = t.columns.find((x) => x.name.toLowerCase() === c.column.toLowerCase());
        if (col) col.masked = c.strategy;
      }
    }
  }
  // A table the caller may not read at all is not described.
  const list = [...tables.values()].filter((t) => t.access !== 'block');
  const text = list
    .map((t) => `${t.table} (${t.access}${t.rules?.length ? `: ${t.rules.join(', ')}` : ''})\n${t.columns.map((c) => `  ${c.name} ${c.type}${c.masked ? ` [masked: ${c.masked}]` : ''}`).join('\n')}`)
    .join('\n');
  return textResult(capText(text, ctx.config.settings.maxResultBytes).text, { name: resource.name, kind: 'postgres', tables: list });
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteQualified = (qualified: string): string => {
  const dot = qualified.indexOf('.');
  return `${quoteIdent(qualified.slice(0, dot))}.${quoteIdent(qualified.slice(dot + 1))}`;
};

function probeCommand(identity: Identity, resource: PostgresResource, sql: string): CommandRequested {
  return {
    type: 'CommandRequested',
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId: 'describe',
    seq: 1,
    digest: '0'.repeat(64),
    commandId: newId(),
    identity,
    resource: { name: resource.name, kind: 'postgres', tags: resource.tags },
    protocol: 'postgres',
    command: sqlCommand(sql),
    via: 'mcp',
  };
}
