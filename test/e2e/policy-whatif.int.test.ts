/**
 * Policy what-if over a history recorded through the real gateway: psql →
 * PostgreSQL proxy → the log; then `portcullis policy whatif` re-decides that
 * history under a draft and reports exactly the commands it would decide
 * differently, with the identity and an example.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createIdentityVerifier, createPool, createTestBus, silentLogger, type Bus } from '@portcullis/kit';
import { buildApp, whatIfRoutes } from '@portcullis/audit-projection';
import { issueHumanToken, issueServiceToken, postgresConnection, postgresUrl } from '@portcullis/infra';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';

const issuer = 'http://127.0.0.1:9400';
const examplePath = fileURLToPath(new URL('../../policies/examples/automation-access.yaml', import.meta.url));
const policy = readFileSync(examplePath, 'utf8');
const cli = fileURLToPath(new URL('../../services/cli/bin/portcullis.js', import.meta.url));

/** The example policy plus one rule: the LLM agent may no longer read orders-prod. */
const draft = policy.replace(
  'rules:\n',
  `rules:
  - id: agent-off-orders
    effect: block
    reason: the LLM agent no longer reads production orders
    match:
      identity: { subjects: [llm-agent] }
      resource: { names: [orders-prod] }
      protocol: postgres
      sql: { classes: [read] }
`,
);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('portcullis policy whatif against a history recorded through psql', () => {
  const suffix = randomBytes(4).toString('hex');
  const role = `pcl_whatif_${suffix}`;
  const envVar = `PCL_WHATIF_PW_${suffix.toUpperCase()}`;
  const dir = mkdtempSync(join(tmpdir(), 'pcl-whatif-'));
  let admin: pg.Client;
  let bus: Bus;
  let pdp: PolicyDecisionService;
  let gateway: PostgresGateway;

  before(async () => {
    const c = postgresConnection();
    admin = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
    await admin.connect();
    process.env[envVar] = randomBytes(18).toString('base64url');
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${process.env[envVar]}'`);
    await admin.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`);
    await admin.query(`ALTER ROLE ${role} IN DATABASE demo SET search_path = ${role}`);
    await admin.query(`CREATE TABLE ${role}.orders (id int primary key, status text)`);
    await admin.query(`INSERT INTO ${role}.orders VALUES (1, 'open'), (2, 'shipped')`);
    await admin.query(`ALTER TABLE ${role}.orders OWNER TO ${role}`);

    bus = createTestBus('whatif-e2e', { partitions: 3 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
    const config = parseProxyConfig({
      resources: [{ name: 'orders-prod', protocol: 'postgres', tags: ['production'], target: { host: c.host, port: c.port, database: 'demo', user: role, tls: 'disable' }, credential: { env: envVar } }],
      listen: { host: '127.0.0.1', port: 0 },
      verdictTimeoutMs: 15_000,
    });
    gateway = await startPostgresGateway({ config, bus, logger: silentLogger(), issuer, port: 0 });

    // The history: two reads that ran and one destructive statement that was blocked.
    const token = await issueServiceToken(issuer, 'llm-agent');
    const psql = (sql: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'llm-agent', '-d', 'orders-prod', '-c', sql], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    const read = await psql('SELECT id, status FROM orders ORDER BY id');
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout.trim(), '1|open\n2|shipped');
    assert.equal((await psql('SELECT count(*) FROM orders')).code, 0);
    const drop = await psql('DROP TABLE orders');
    assert.match(drop.stderr, /blocked/);
  });
  after(async () => {
    await gateway?.close();
    await pdp?.stop();
    await bus?.disconnect();
    await admin?.query(`DROP SCHEMA IF EXISTS ${role} CASCADE`).catch(() => undefined);
    await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    await admin?.end();
  });

  const env = (): NodeJS.ProcessEnv => ({ PORTCULLIS_TOPIC_NAMESPACE: bus.names.namespace });

  it('a draft that blocks the agent from reading orders reports exactly those reads, with identity and example', async () => {
    const file = join(dir, 'draft.yaml');
    writeFileSync(file, draft);
    const json = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--json'], env());
    assert.equal(json.code, 0, json.stderr);
    const { report, source } = JSON.parse(json.stdout) as { source: string; report: { compared: number; unchanged: number; transitions: { transition: string; count: number; identities: string[]; resources: string[]; examples: { command: string; draft: { ruleIds: string[] } }[] }[] } };
    assert.equal(source, 'log');
    assert.equal(report.compared, 3);
    assert.equal(report.unchanged, 1, 'the blocked DROP stays blocked');
    assert.equal(report.transitions.length, 1);
    const [t] = report.transitions;
    assert.match(t!.transition, /^(allow|mask)->block$/);
    assert.equal(t!.count, 2);
    assert.deepEqual(t!.identities, ['llm-agent']);
    assert.deepEqual(t!.resources, ['orders-prod']);
    assert.deepEqual(t!.examples.map((e) => e.command).sort(), ['SELECT count(*) FROM orders', 'SELECT id, status FROM orders ORDER BY id']);
    assert.ok(t!.examples[0]!.draft.ruleIds.includes('agent-off-orders'));

    const text = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--identity', 'llm-agent'], env());
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /(allow|mask)->block\s+2\s+llm-agent\s+orders-prod/);
    assert.match(text.stdout, /now: block {1,2}by .*agent-off-orders/);
    assert.match(text.stdout, /identities that would lose all access: llm-agent/);

    const gate = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--fail-on', '*->block'], env());
    assert.equal(gate.code, 1);
    assert.match(gate.stderr, /->block \(2\) occurred; failing as --fail-on asks/);
    const passes = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--fail-on', 'block->allow'], env());
    assert.equal(passes.code, 0, passes.stderr);
  });

  it('the live policy as the draft reports no change; a window before the history reads nothing', async () => {
    const same = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--since', '1h', '--fail-on', '*->*'], env());
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, /compared 3, 3 unchanged/);
    assert.match(same.stdout, /no command would be decided differently/);
    const before = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--since', '2d', '--until', '1d'], env());
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /compared 0, 0 unchanged/);
  });

  it('POST /policy/whatif streams progress and the same result as the CLI, for auditors only', async () => {
    const file = join(dir, 'draft-api.yaml');
    writeFileSync(file, draft);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const cliRun = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', since, '--json'], env());
    assert.equal(cliRun.code, 0, cliRun.stderr);
    const pool = createPool(postgresUrl('demo'));
    const app = await buildApp({ pool, verifier: createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] }), routes: [whatIfRoutes({ bus })] });
    try {
      const auditor = await issueHumanToken(issuer, 'carol');
      const res = await app.inject({ method: 'POST', url: '/policy/whatif', headers: { authorization: `Bearer ${auditor}` }, payload: { policy: draft, since } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/x-ndjson');
      const lines = res.body.trim().split('\n').map((l) => JSON.parse(l) as { result?: unknown; progress?: unknown });
      const last = lines.at(-1)!;
      assert.deepEqual(last.result, JSON.parse(cliRun.stdout));

      const badDraft = await app.inject({ method: 'POST', url: '/policy/whatif', headers: { authorization: `Bearer ${auditor}` }, payload: { policy: 'rules: 3', since } });
      assert.equal(badDraft.statusCode, 400);
      assert.equal(badDraft.json().code, 'PCL_ERR_VALIDATION');
      const agent = await issueServiceToken(issuer, 'llm-agent');
      const forbidden = await app.inject({ method: 'POST', url: '/policy/whatif', headers: { authorization: `Bearer ${agent}` }, payload: { policy: draft, since } });
      assert.equal(forbidden.statusCode, 403);
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('bad input gets a clear error and exit code 2', async () => {
    const badWindow = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--since', 'yesterday-ish'], env());
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /--since "yesterday-ish": write a duration/);
    const badFailOn = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--fail-on', 'allow=>block'], env());
    assert.equal(badFailOn.code, 2);
    assert.match(badFailOn.stderr, /--fail-on: "allow=>block" is not a transition/);
    const badPolicy = join(dir, 'bad.yaml');
    writeFileSync(badPolicy, 'apiVersion: portcullis/v1\nrules:\n  - id: x\n    effect: sometimes\n');
    const refused = await run(process.execPath, [cli, 'policy', 'whatif', badPolicy], env());
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /bad\.yaml:4: rules\[0\]\.effect/);
  });
});
