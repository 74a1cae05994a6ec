import pg from 'pg';
import { PortcullisError } from '../errors.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** A PostgreSQL identifier for a schema name given in configuration; refuses anything odd instead of quoting it. */
export function schemaIdent(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new PortcullisError('PCL_ERR_CONFIG', `schema name "${schema.slice(0, 70)}" must match [a-z_][a-z0-9_]* (at most 63 characters)`);
  }
  return `"${schema}"`;
}

export function createPool(connectionString: string, max = 10): Pool {
  const pool = new pg.Pool({ connectionString, max, application_name: 'portcullis-projection', types: { getTypeParser } as pg.CustomTypesConfig });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

/** Timestamps as ISO 8601 strings and 64-bit counts as numbers, for this pool only (other code in the process keeps pg's defaults). */
const TIMESTAMPTZ = 1184;
const INT8 = 20;
function getTypeParser(oid: number, format?: 'text' | 'binary'): (value: string) => unknown {
  if (oid === TIMESTAMPTZ) return (v) => new Date(v).toISOString();
  if (oid === INT8) return (v) => Number(v);
  return pg.types.getTypeParser(oid, format as 'text');
}

export async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
