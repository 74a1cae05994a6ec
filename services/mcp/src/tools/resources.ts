/**
 * `list_resources` and `describe_resource`: what the caller can point the
 * other tools at. A PostgreSQL resource is described from its catalog
 * (information_schema, read on the gateway's own connection: names only,
 * never rows), each table with what the policy in force would do with
 * `SELECT *` from it for this caller (allow, mask — the masked columns
 * marked —, hold or block). The probe is decided, not recorded: nothing
 * runs on the caller's behalf.
 */
import pg from 'pg';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { newId, nowIso, type CommandRequested, type Identity } from '@portcullis/schemas';
import { evaluate } from '@portcullis/policy-decision';
import type { PostgresResource } from '@portcullis/proxy-postgres';
import type { ServiceContext } from '../context.ts';
import { allResources, refOf, type AnyResource } from '../resources.ts';
import { errorResult, textResult, capText } from '../result.ts';
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

export async function describeResource(ctx: ServiceContext, identity: Identity, resource: AnyResource): Promise<CallToolResult> {
  if (resource.protocol === 'ssh') {
    return textResult(`${resource.name}: SSH host; commands run with the exec tool as "${resource.target.user}"`, { name: resource.name, kind: 'ssh', user: resource.target.user, tags: resource.tags });
  }
  if (resource.protocol === 'http' || resource.protocol === 'kubernetes') {
    return textResult(`${resource.name}: ${resource.protocol === 'kubernetes' ? 'Kubernetes API' : 'HTTP API'}; call it with http_request (method, path such as /v1/…)`, { name: resource.name, kind: resource.protocol, tags: resource.tags });
  }
  return describeDatabase(ctx, identity, resource);
}

async function describeDatabase(ctx: ServiceContext, identity: Identity, resource: PostgresResource): Promise<CallToolResult> {
  const client = new pg.Client(clientConfig(resource, ctx.config.settings));
  client.on('error', () => undefined);
  let rows: { table_schema: string; table_name: string; column_name: string; data_type: string }[];
  try {
    await client.connect();
    rows = (
      await client.query(
        `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_schema NOT LIKE 'pg\\_%'
          ORDER BY table_schema, table_name, ordinal_position LIMIT 5000`,
      )
    ).rows;
  } catch (err) {
    return errorResult('PCL_ERR_TARGET', `${resource.name}: the catalog could not be read (${(err as { code?: string }).code ?? 'error'})`);
  } finally {
    void client.end().catch(() => undefined);
  }
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
  const list = [...tables.values()];
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
