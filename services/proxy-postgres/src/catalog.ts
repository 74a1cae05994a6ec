import { serialize } from 'pg-protocol';
import type { DataRowMessage, RowDescriptionMessage } from 'pg-protocol/dist/messages.js';
import type { Logger } from 'pino';
import type { MaskSpec } from '@portcullis/schemas';
import { readCredential, type PostgresResource } from './config.ts';
import { connectTarget, type TargetConnection } from './target-connector.ts';
import { decodeNoticeFields } from './wire/backend-messages.ts';
import { parseBackendMessage } from './wire/backend-parser.ts';
import type { Frame } from './wire/framing.ts';

export type ProtectedStrategy = MaskSpec['columns'][number]['strategy'];

/** A result column as RowDescription describes it. */
export interface ResultColumn {
  name: string;
  tableOid: number;
  columnNumber: number;
  typeOid: number;
  format: 0 | 1;
}

const PROTECTED_TTL_MS = 30_000;
const RELKIND_TTL_MS = 300_000;

/**
 * The target's catalog as the masking needs it, read on the proxy's own
 * connection to the resource (never the caller's session, whose transaction
 * and search_path are the caller's) and cached per resource.
 */
export class TargetCatalog {
  private connection: Promise<TargetConnection> | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly protectedCache = new Map<string, { at: number; value: Promise<Map<string, ProtectedStrategy>> }>();
  private readonly relkindCache = new Map<number, { at: number; kind: string }>();

  constructor(
    private readonly resource: PostgresResource,
    private readonly logger: Logger,
  ) {}

  /** Protected columns resolved to "tableOid:attnum" → strategy (pg_class / pg_namespace / pg_attribute). */
  protectedColumns(columns: MaskSpec['columns']): Promise<Map<string, ProtectedStrategy>> {
    const key = JSON.stringify(columns.map((c) => [c.table, c.column, c.strategy]).sort());
    const hit = this.protectedCache.get(key);
    if (hit && Date.now() - hit.at < PROTECTED_TTL_MS) return hit.value;
    const value = this.resolveProtected(columns);
    this.protectedCache.set(key, { at: Date.now(), value });
    value.catch(() => this.protectedCache.delete(key));
    return value;
  }

  /** relkind of each table OID ('r' table, 'p' partitioned, 'v' view, 'm' matview, 'f' foreign …). */
  async relkinds(oids: number[]): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    const missing: number[] = [];
    for (const oid of new Set(oids)) {
      const hit = this.relkindCache.get(oid);
      if (hit && Date.now() - hit.at < RELKIND_TTL_MS) out.set(oid, hit.kind);
      else missing.push(oid);
    }
    if (missing.length > 0) {
      const rows = await this.query('SELECT oid::text, relkind::text FROM pg_catalog.pg_class WHERE oid = ANY($1::oid[])', [`{${missing.join(',')}}`]);
      for (const [oid, kind] of rows) {
        this.relkindCache.set(Number(oid), { at: Date.now(), kind: kind ?? '?' });
        out.set(Number(oid), kind ?? '?');
      }
    }
    return out;
  }

  /** The result columns a query would have (Parse + Describe, never executed). */
  async describe(sql: string): Promise<ResultColumn[]> {
    return this.exclusive(async (conn) => {
      conn.socket.write(
        Buffer.concat([serialize.parse({ text: sql }), serialize.describe({ type: 'S', name: '' }), serialize.sync()]),
      );
      let columns: ResultColumn[] = [];
      let error: string | undefined;
      await readUntilReady(conn, (frame) => {
        if (frame.type === 0x45) error = decodeNoticeFields(frame.payload).M;
        else if (frame.type === 0x54) columns = toResultColumns(parseBackendMessage(frame) as RowDescriptionMessage);
      });
      if (error !== undefined) throw new Error(error);
      return columns;
    });
  }

  async close(): Promise<void> {
    const conn = await this.connection?.catch(() => undefined);
    conn?.socket.end(serialize.end());
    conn?.socket.destroy();
    this.connection = undefined;
  }

  private async resolveProtected(columns: MaskSpec['columns']): Promise<Map<string, ProtectedStrategy>> {
    const wanted = columns.map((c) => {
      const dot = c.table.lastIndexOf('.');
      return { schema: dot > 0 ? c.table.slice(0, dot) : undefined, table: c.table.slice(dot + 1), column: c.column, strategy: c.strategy };
    });
    const out = new Map<string, ProtectedStrategy>();
    if (wanted.length === 0) return out;
    // Unquoted identifiers in a policy fold to lower case as PostgreSQL folds them; the exact spelling matches too.
    const relnames = [...new Set(wanted.flatMap((w) => [w.table, w.table.toLowerCase()]))];
    const attnames = [...new Set(wanted.flatMap((w) => [w.column, w.column.toLowerCase()]))];
    const rows = await this.query(
      `SELECT c.oid::text, a.attnum::text, n.nspname, c.relname, a.attname
         FROM pg_catalog.pg_attribute a
         JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relname = ANY($1::text[]) AND a.attname = ANY($2::text[])`,
      [toTextArray(relnames), toTextArray(attnames)],
    );
    const same = (actual: string | null, wantedName: string): boolean => actual === wantedName || actual === wantedName.toLowerCase();
    for (const [oid, attnum, nspname, relname, attname] of rows) {
      for (const w of wanted) {
        if (same(relname!, w.table) && same(attname!, w.column) && (w.schema === undefined || same(nspname!, w.schema))) {
          out.set(`${oid}:${attnum}`, w.strategy);
        }
      }
    }
    return out;
  }

  private async query(sql: string, parameters: string[]): Promise<(string | null)[][]> {
    return this.exclusive(async (conn) => {
      conn.socket.write(
        Buffer.concat([serialize.parse({ text: sql }), serialize.bind({ values: parameters }), serialize.execute(), serialize.sync()]),
      );
      const rows: (string | null)[][] = [];
      let error: string | undefined;
      await readUntilReady(conn, (frame) => {
        if (frame.type === 0x44) rows.push((parseBackendMessage(frame) as DataRowMessage).fields as (string | null)[]);
        else if (frame.type === 0x45) error = decodeNoticeFields(frame.payload).M;
      });
      if (error !== undefined) throw new Error(`catalog query failed: ${error}`);
      return rows;
    });
  }

  /** One catalog request at a time on the shared connection; a broken connection is replaced. */
  private exclusive<T>(work: (conn: TargetConnection) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.connection ??= connectTarget(this.resource, readCredential(this.resource), { application_name: 'portcullis-catalog', client_encoding: 'UTF8' });
      let conn: TargetConnection;
      try {
        conn = await this.connection;
      } catch (err) {
        this.connection = undefined;
        throw err;
      }
      try {
        return await work(conn);
      } catch (err) {
        this.logger.warn({ resource: this.resource.name, err: (err as Error).message }, 'catalog connection reset');
        conn.socket.destroy();
        this.connection = undefined;
        throw err;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function toTextArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (m) => `\\${m}`)}"`).join(',')}}`;
}

export function toResultColumns(message: RowDescriptionMessage): ResultColumn[] {
  return message.fields.map((f) => ({
    name: f.name,
    tableOid: f.tableID >>> 0,
    columnNumber: f.columnID,
    typeOid: f.dataTypeID >>> 0,
    format: f.format === 'binary' ? 1 : 0,
  }));
}

/** Reads the catalog connection's messages until ReadyForQuery (ignoring what `onFrame` does not need). */
function readUntilReady(conn: TargetConnection, onFrame: (frame: Frame) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error('catalog query timed out')), 10_000);
    const drain = (): void => {
      try {
        for (let frame = conn.framer.next(); frame; frame = conn.framer.next()) {
          if (frame.type === 0x5a /* Z */) return finish();
          onFrame(frame);
        }
      } catch (err) {
        finish(err as Error);
      }
    };
    const onData = (chunk: Buffer): void => {
      conn.framer.push(chunk);
      drain();
    };
    const onClose = (): void => finish(new Error('catalog connection closed'));
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      conn.socket.off('data', onData);
      conn.socket.off('close', onClose);
      conn.socket.off('error', onClose);
      conn.socket.pause();
      if (err) reject(err);
      else resolve();
    };
    conn.socket.on('data', onData);
    conn.socket.on('close', onClose);
    conn.socket.on('error', onClose);
    conn.socket.resume();
    drain();
  });
}
