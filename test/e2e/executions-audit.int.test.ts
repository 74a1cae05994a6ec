/**
 * Every execution is a command, end to end: node-postgres prepared queries
 * and pgbench -M prepared through the PostgreSQL gateway (deciding at the
 * edge under the example policy), the audit projection built from the log —
 * the audit shows one command per execution, each with its bound
 * parameters, its verdict and its outcome, beside the one Parse.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createPool, createTestBus, eventually, schemaIdent, silentLogger, type Bus, type Pool } from '@portcullis/kit';
import { issueServiceToken, postgresUrl } from '@portcullis/infra';
import { createTestDatabase, type TestDatabase } from '@portcullis/infra/targets';
import { publishPolicy } from '@portcullis/policy-decision';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';
import { startAuditProjection } from '@portcullis/audit-projection';

const issuer = 'http://127.0.0.1:9400';
const policy = readFileSync(fileURLToPath(new URL('../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');

interface AuditRow {
  session_id: string;
  phase: string;
  statement_name: string | null;
  parameters: (string | null)[] | null;
  effect: string | null;
  status: string | null;
  row_count: string | null;
  tag: string | null;
}

describe('the audit shows every execution of a prepared statement with its parameters', () => {
  const auditSchema = `audit_exec_${randomBytes(4).toString('hex')}`;
  let db: TestDatabase;
  let bus: Bus;
  let pool: Pool;
  let gateway: PostgresGateway;
  const cleanup: (() => Promise<unknown>)[] = [];

  before(async () => {
    db = await createTestDatabase('exec', 'orders-prod');
    await db.table('orders (id int primary key, status text)', "(1, 'open'), (2, 'open'), (3, 'open'), (4, 'open'), (5, 'open'), (6, 'open'), (7, 'open'), (8, 'open')");
    // pgbench's tables, created directly (DDL through the gateway is what the example policy blocks).
    const { host, port, user } = db.resource.target;
    const init = await run('pgbench', ['-i', '-s', '1', '-q', '-h', host, '-p', String(port), '-U', user, 'demo'], { PGPASSWORD: process.env[db.resource.credential.env]! });
    assert.equal(init.code, 0, init.out);

    bus = createTestBus('exec-audit', { partitions: 3 });
    await bus.connect();
    cleanup.push(() => bus.disconnect());
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    pool = createPool(postgresUrl('portcullis'), 4);
    cleanup.push(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(auditSchema)} CASCADE`);
      await pool.end();
    });
    const audit = await startAuditProjection({ bus, pool, logger: silentLogger(), schema: auditSchema });
    cleanup.push(() => audit.stop());
    gateway = await startPostgresGateway({
      config: parseProxyConfig({
        resources: [{ ...db.resource, tags: ['production'] }],
        listen: { host: '127.0.0.1', port: 0 },
        verdictTimeoutMs: 15_000,
      }),
      bus, logger: silentLogger(), issuer, port: 0,
    });
    cleanup.push(() => gateway.close());
  });
  after(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined);
    await db?.drop();
  });

  function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
      const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d));
      child.stderr.on('data', (d: Buffer) => (out += d));
      child.on('close', (code) => resolve({ code, out }));
    });
  }

  const auditOf = async (where: string, params: unknown[]): Promise<AuditRow[]> =>
    (await pool.query<AuditRow>(`SELECT session_id, phase, statement_name, parameters, effect, status, row_count::text, tag FROM ${schemaIdent(auditSchema)}.commands WHERE ${where} ORDER BY session_id, seq`, params)).rows;

  it('node-postgres: one Parse, then one command per execution with its value, each run and counted', async () => {
    const token = await issueServiceToken(issuer, 'ci-deploy');
    const client = new pg.Client({ host: '127.0.0.1', port: gateway.port, user: 'ci-deploy', password: token, database: 'orders-prod', ssl: { rejectUnauthorized: false } });
    await client.connect();
    try {
      for (const id of [3, 5, 8]) {
        const r = await client.query({ name: 'status-of', text: 'SELECT status FROM orders WHERE id = $1', values: [id] });
        assert.deepEqual(r.rows, [{ status: 'open' }]);
      }
    } finally {
      await client.end();
    }
    const rows = await eventually('the parse and three executions, completed, in the audit', async () => {
      const found = await auditOf(`text = $1`, ['SELECT status FROM orders WHERE id = $1']);
      return found.filter((r) => r.status !== null).length === 4 ? found : undefined;
    }, 20_000);
    assert.deepEqual(
      rows.map((r) => [r.phase, r.statement_name, r.parameters, r.effect, r.status, r.tag]),
      // The example policy masks personal data for services: the verdicts are `mask` (nothing in orders is masked).
      [
        ['parse', 'status-of', null, 'mask', 'executed', 'PARSE'],
        ['bind', 'status-of', ['3'], 'mask', 'executed', 'SELECT 1'],
        ['bind', 'status-of', ['5'], 'mask', 'executed', 'SELECT 1'],
        ['bind', 'status-of', ['8'], 'mask', 'executed', 'SELECT 1'],
      ],
    );
  });

  it('pgbench -M prepared: every transaction pgbench counted is a command in the audit, with its aid', async () => {
    const token = await issueServiceToken(issuer, 'ci-deploy');
    const bench = await run('pgbench', ['-S', '-M', 'prepared', '-t', '25', '-c', '2', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'ci-deploy', 'orders-prod'], { PGPASSWORD: token, PGSSLMODE: 'require' });
    assert.equal(bench.code, 0, bench.out);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(bench.out)?.[1]);
    assert.equal(processed, 50, bench.out);
    const executions = await eventually(`${processed} completed executions in the audit`, async () => {
      const found = await auditOf(`text LIKE 'SELECT abalance FROM pgbench_accounts WHERE aid = %' AND phase = 'bind' AND status IS NOT NULL`, []);
      return found.length >= processed ? found : undefined;
    }, 30_000);
    assert.equal(executions.length, processed);
    assert.ok(executions.every((r) => (r.effect === 'allow' || r.effect === 'mask') && r.status === 'executed' && r.row_count === '1' && /^\d+$/.test(r.parameters?.[0] ?? '')), JSON.stringify(executions.slice(0, 3)));
    assert.equal(new Set(executions.map((r) => r.session_id)).size, 2, 'two pgbench clients, two sessions');
  });
});
