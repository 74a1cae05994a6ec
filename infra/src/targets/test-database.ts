import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { postgresConnection } from '../postgres.ts';

/** A PostgreSQL resource as portcullis.yaml names it (the proxy's config parser checks it). */
export interface TestDatabaseResource {
  name: string;
  protocol: 'postgres';
  tags: string[];
  target: { host: string; port: number; database: string; user: string; tls: 'disable' };
  credential: { env: string };
}

export interface TestDatabase {
  /** The resource as portcullis.yaml would name it (credential in an env var set for this process only). */
  resource: TestDatabaseResource;
  schema: string;
  role: string;
  /** Runs SQL as the cluster admin in the demo database. */
  admin(sql: string, params?: unknown[]): Promise<pg.QueryResult>;
  /**
   * `CREATE TABLE <schema>.<definition>` owned by the role, with `rows` (a VALUES list) inserted:
   * `table('orders (id int primary key, status text)', "(1, 'open'), (2, 'shipped')")`.
   */
  table(definition: string, rows?: string): Promise<void>;
  drop(): Promise<void>;
}

/**
 * A login role (SCRAM-SHA-256, the cluster default) with a schema of its own
 * in the `demo` database of the running stack, so test files never collide.
 * The password is generated here and lives only in this process's
 * environment. For integration tests of the proxies, the console and e2e.
 */
export async function createTestDatabase(prefix: string, resourceName = `${prefix}-db`): Promise<TestDatabase> {
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
    async table(definition, rows) {
      const name = definition.slice(0, definition.indexOf('(')).trim();
      await admin.query(`CREATE TABLE ${schema}.${definition}`);
      if (rows !== undefined) await admin.query(`INSERT INTO ${schema}.${name} VALUES ${rows}`);
      await admin.query(`ALTER TABLE ${schema}.${name} OWNER TO ${role}`);
    },
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
