/**
 * Set-based writes for projections: a whole batch of rows in ONE statement,
 * each column travelling as one PostgreSQL array parameter and turned back
 * into rows by `unnest` (INSERT … SELECT FROM unnest($1::text[], $2::int[], …)).
 * No per-row statements, no JSON round trip; PostgreSQL parses each array once.
 */
import { schemaIdent, type PoolClient } from './pg.ts';

/** Column types the projections use. Array and JSON columns travel as text and are cast per row. */
export type ColumnType = 'text' | 'int' | 'bigint' | 'boolean' | 'timestamptz' | 'float8' | 'text[]' | 'jsonb';

export interface TableShape<R> {
  table: string;
  columns: readonly { name: keyof R & string; type: ColumnType }[];
  key: readonly (keyof R & string)[];
}

/** A PostgreSQL array literal of strings ({"a","b\"c",NULL}). */
export function pgTextArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)).join(',')}}`;
}

const paramType = (t: ColumnType): string => (t === 'text[]' || t === 'jsonb' ? 'text' : t);

function columnValue(type: ColumnType, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (type === 'text[]') return pgTextArray(value as string[]);
  if (type === 'jsonb') return JSON.stringify(value);
  return value;
}

/** The `unnest(...)` source of `rows`, with its parameters: `SELECT <columns> FROM <source>`. */
export function unnestSource<R>(shape: TableShape<R>, rows: readonly R[], firstParam = 1): { from: string; select: string; values: unknown[] } {
  const values = shape.columns.map((c) => rows.map((r) => columnValue(c.type, r[c.name])));
  const from = `unnest(${shape.columns.map((c, i) => `$${firstParam + i}::${paramType(c.type)}[]`).join(', ')}) AS u(${shape.columns.map((c) => c.name).join(', ')})`;
  const select = shape.columns.map((c) => (c.type === 'text[]' || c.type === 'jsonb' ? `u.${c.name}::${c.type}` : `u.${c.name}`)).join(', ');
  return { from, select, values };
}

/**
 * Inserts `rows` into `schema.table`; a row whose key exists replaces it
 * (`update`) or is skipped (`nothing`). Rows must have distinct keys.
 */
export async function upsertRows<R>(client: PoolClient, schema: string, shape: TableShape<R>, rows: readonly R[], onConflict: 'update' | 'nothing' = 'update'): Promise<void> {
  if (rows.length === 0) return;
  const { from, select, values } = unnestSource(shape, rows);
  const set = shape.columns.filter((c) => !shape.key.includes(c.name)).map((c) => `${c.name} = EXCLUDED.${c.name}`).join(', ');
  const action = onConflict === 'nothing' || set === '' ? 'DO NOTHING' : `DO UPDATE SET ${set}`;
  await client.query(
    `INSERT INTO ${schemaIdent(schema)}.${shape.table} (${shape.columns.map((c) => c.name).join(', ')})
     SELECT ${select} FROM ${from}
     ON CONFLICT (${shape.key.join(', ')}) ${action}`,
    values,
  );
}

/** The rows of `schema.table` whose key is one of `keys` (single-column key). */
export async function loadRows<R>(client: PoolClient, schema: string, shape: TableShape<R>, keys: readonly string[]): Promise<R[]> {
  if (keys.length === 0) return [];
  const key = shape.key[0]!;
  const { rows } = await client.query<R & object>(
    `SELECT ${shape.columns.map((c) => c.name).join(', ')} FROM ${schemaIdent(schema)}.${shape.table} WHERE ${key} = ANY($1::text[])`, [keys]);
  return rows;
}
