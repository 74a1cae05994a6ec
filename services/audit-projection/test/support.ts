/** A PostgreSQL schema per test, dumps of the view; the crafted events are in crafted.ts. */
import { randomBytes } from 'node:crypto';
import { postgresUrl } from '@portcullis/infra';
import { createPool, schemaIdent, type Pool } from '@portcullis/kit';

export { ISSUER, ciJob, alice, tick, CraftedSession } from './crafted.ts';

export function testPool(): Pool {
  return createPool(postgresUrl('portcullis'), 4);
}

export const testSchema = (name: string): string => `t_${name.replace(/[^a-z0-9]/g, "_")}_${randomBytes(4).toString('hex')}`;

export async function dropSchema(pool: Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(schema)} CASCADE`);
}

/** Every table of the view, rows in key order, without checkpoints (positions differ when events were replayed). */
export async function dumpView(pool: Pool, schema: string, tables = ['sessions', 'commands', 'approvals', 'identities', 'chain_links', 'chain_pending']): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of tables) {
    const { rows } = await pool.query(`SELECT row_to_json(x)::text AS r FROM ${schemaIdent(schema)}.${t} x ORDER BY 1`);
    out[t] = rows.map((r: { r: string }) => r.r);
  }
  return out;
}

