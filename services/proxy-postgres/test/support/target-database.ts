import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresConnection } from '@portcullis/infra';
import type { PostgresResource } from '../../src/config.ts';

export interface TestTarget {
  /** The resource as portcullis.yaml would name it (credential in an env var set for this process only). */
  resource: PostgresResource;
  schema: string;
  role: string;
  /** Runs SQL as the cluster admin in the demo database. */
  admin(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

/**
 * A login role (SCRAM-SHA-256, the cluster default) with a schema of its own
 * in the `demo` database, so test files never collide. The password is
 * generated here and lives only in this process's environment.
 */
export async function createTestTarget(prefix: string, resourceName = `${prefix}-db`): Promise<TestTarget> {
  const suffix = randomBytes(4).toString('hex');
  const role = `pcl_${prefix.replace(/[^a-z0-9]/g, '_')}_${suffix}`;
  const schema = role;
  const password = randomBytes(18).toString('base64url');
  const envVar = `PCL_TEST_PG_${suffix.toUpperCase()}`;
  process.env[envVar] = password;
  const c = postgresConnection();
  const admin = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin.query(`CREATE SCHEMA ${schema} AUTHORIZATION ${role}`);
  await admin.query(`ALTER ROLE ${role} IN DATABASE demo SET search_path = ${schema}`);
  return {
    resource: {
      name: resourceName,
      protocol: 'postgres',
      tags: ['test'],
      target: { host: c.host, port: c.port, database: 'demo', user: role, tls: 'disable' },
      credential: { env: envVar },
    },
    schema,
    role,
    admin: (sql, params) => admin.query(sql, params as unknown[]),
    async drop() {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]).catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.query(`DROP OWNED BY ${role} CASCADE`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
      delete process.env[envVar];
    },
  };
}
