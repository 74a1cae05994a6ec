/**
 * `query`: SQL on a PostgreSQL resource. The text is judged as the
 * PostgreSQL proxy judges a simple-protocol Query (the same analysis and
 * policy) and sent to the target exactly as judged, in the simple query
 * protocol, on a connection of its own made with the gateway-held
 * credential. Masked results are rewritten with the PostgreSQL engine's
 * masking: each result column is protected by the table column it comes
 * from (RowDescription's table OID and attribute number), so an alias does
 * not hide it. Target errors are scrubbed of credentials and card numbers.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { SqlCommand, VerdictIssued } from '@portcullis/schemas';
import { maskText, type SessionRecord } from '@portcullis/kit';
import {
  ALWAYS_SCRUBBED,
  loadMaskingLibrary,
  maskRowValues,
  planResult,
  readCredential,
  TargetCatalog,
  type PostgresResource,
  type ResultColumn,
} from '@portcullis/proxy-postgres';
import type { ServiceContext } from '../context.ts';
import { capText, errorResult, textResult } from '../result.ts';

interface ResultSet {
  command: string;
  rowCount: number | null;
  columns: string[];
  rows: (string | null)[][];
  /** Rows not shown (over maxRows or the size cap). */
  omittedRows: number;
}

const catalogs = new Map<PostgresResource, TargetCatalog>();

/** Closes the catalog connections (service stop). */
export async function closeCatalogs(): Promise<void> {
  const open = [...catalogs.values()];
  catalogs.clear();
  await Promise.all(open.map((c) => c.close().catch(() => undefined)));
}

function catalogOf(ctx: ServiceContext, resource: PostgresResource): TargetCatalog {
  let catalog = catalogs.get(resource);
  if (!catalog) {
    catalog = new TargetCatalog(resource, ctx.logger);
    catalogs.set(resource, catalog);
  }
  return catalog;
}

export function sqlCommand(sql: string): SqlCommand {
  return { kind: 'sql', text: sql, phase: 'simple' };
}

export function clientConfig(resource: PostgresResource, settings: { connectTimeoutMs: number; commandTimeoutMs: number }): pg.ClientConfig {
  const t = resource.target;
  const ssl =
    t.tls === 'disable'
      ? false
      : t.tls === 'require'
        ? { rejectUnauthorized: false }
        : { rejectUnauthorized: true, servername: t.host, ...(t.ca ? { ca: readFileText(t.ca) } : {}) };
  return {
    host: t.host,
    port: t.port,
    database: t.database,
    user: t.user,
    password: readCredential(resource),
    ssl,
    application_name: 'portcullis-mcp',
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.commandTimeoutMs,
    query_timeout: settings.commandTimeoutMs + 1000,
  };
}

const readFileText = (path: string): string => readFileSync(path, 'utf8');

/** Every value as the text PostgreSQL sent (no type conversion), so masking sees what the proxy would. */
const RAW_TEXT = { getTypeParser: () => (value: string) => value };

export async function runQuery(ctx: ServiceContext, resource: PostgresResource, sql: string, verdict: VerdictIssued, commandId: string, record: SessionRecord): Promise<CallToolResult> {
  const settings = ctx.config.settings;
  const started = Date.now();
  const detectors = new Set([...ALWAYS_SCRUBBED, ...(verdict.effect === 'mask' ? (verdict.mask?.detectors ?? []) : [])]);
  let client: pg.Client | undefined;
  try {
    client = new pg.Client(clientConfig(resource, settings));
    client.on('error', () => undefined);
    await client.connect();
    const raw = (await client.query({ text: sql, rowMode: 'array', types: RAW_TEXT } as pg.QueryConfig)) as unknown as pg.QueryArrayResult | pg.QueryArrayResult[];
    const results = Array.isArray(raw) ? raw : [raw];
    const sets: ResultSet[] = [];
    let budget = settings.maxResultBytes;
    let shown = 0;
    for (const r of results) {
      const columns: ResultColumn[] = (r.fields ?? []).map((f) => ({ name: f.name, tableOid: f.tableID, columnNumber: f.columnID, typeOid: f.dataTypeID, format: 0 }));
      let rows = r.rows as (string | null)[][];
      if (verdict.effect === 'mask' && verdict.mask && columns.length > 0) {
        const plan = await planResult(columns, verdict.mask, catalogOf(ctx, resource), ctx.logger, await loadMaskingLibrary());
        if (plan.active) {
          rows = rows.map((row) => maskRowValues(row.map((v) => (v === null ? null : Buffer.from(v, 'utf8'))), plan).map((v) => (v === null ? null : v.toString('utf8'))));
        }
      }
      const kept: (string | null)[][] = [];
      for (const row of rows) {
        const size = Buffer.byteLength(JSON.stringify(row), 'utf8');
        if (shown >= settings.maxRows || size > budget) break;
        kept.push(row);
        budget -= size;
        shown++;
      }
      sets.push({ command: r.command, rowCount: r.rowCount, columns: columns.map((c) => c.name), rows: kept, omittedRows: rows.length - kept.length });
    }
    const truncated = sets.some((s) => s.omittedRows > 0);
    const tag = sets.map((s) => `${s.command}${s.rowCount !== null ? ` ${s.rowCount}` : ''}`).join('; ');
    record.commandCompleted({ commandId, status: 'executed', durationMs: Date.now() - started, tag: tag.slice(0, 200), rows: sets.reduce((n, s) => n + (s.rowCount ?? 0), 0) });
    recordRows(record, commandId, sets, settings.recordBytes);
    const text = capText(renderSets(sets, truncated), settings.maxResultBytes + 4096);
    return textResult(text.text, { resource: resource.name, results: sets, truncated: truncated || text.truncated, effect: verdict.effect, ...(verdict.effect === 'mask' ? { maskedBy: verdict.ruleIds } : {}) });
  } catch (err) {
    // The target's message (a key value in a unique violation, a connection string) goes through the detectors.
    const message = maskText(targetMessage(err), [...detectors]);
    record.commandCompleted({ commandId, status: 'failed', durationMs: Date.now() - started, error: message.slice(0, 2000) });
    return errorResult('PCL_ERR_TARGET', `${resource.name} answered: ${message}`);
  } finally {
    void client?.end().catch(() => undefined);
  }
}

function targetMessage(err: unknown): string {
  const e = err as { message?: string; code?: string };
  const message = e.message ?? String(err);
  return e.code && /^[0-9A-Z]{5}$/.test(e.code) ? `${message} (SQLSTATE ${e.code})` : message;
}

/** What the model reads: each result set as JSON lines, with a marker for every row left out. */
function renderSets(sets: ResultSet[], truncated: boolean): string {
  const parts = sets.map((s) => {
    const head = `${s.command}${s.rowCount !== null ? ` ${s.rowCount}` : ''}`;
    if (s.columns.length === 0) return head;
    const lines = [head, JSON.stringify(s.columns), ...s.rows.map((r) => JSON.stringify(r))];
    if (s.omittedRows > 0) lines.push(`[truncated by Portcullis: ${s.omittedRows} more rows not shown]`);
    return lines.join('\n');
  });
  return parts.join('\n\n') + (truncated ? '\n[the result was truncated; narrow the query (WHERE, LIMIT) to see the rest]' : '');
}

/** The first rows (masked as the caller saw them), up to `maxBytes`, in OutputRecorded. */
function recordRows(record: SessionRecord, commandId: string, sets: ResultSet[], maxBytes: number): void {
  if (maxBytes === 0) return;
  for (const s of sets) {
    if (s.columns.length === 0) continue;
    const rows: (string | null)[][] = [];
    let size = 0;
    for (const row of s.rows) {
      size += Buffer.byteLength(JSON.stringify(row), 'utf8');
      if (size > maxBytes) break;
      rows.push(row);
    }
    record.outputRecorded({ commandId, format: 'rows', columns: s.columns, rows, truncated: rows.length < s.rows.length || s.omittedRows > 0 });
  }
}
