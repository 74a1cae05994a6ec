import pg from 'pg';
import { PortcullisError } from '@portcullis/kit';

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
  const pool = new pg.Pool({ connectionString, max, application_name: 'portcullis-projection' });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
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
