/**
 * A doctored proxy is caught by the audit, everything real: psql → the
 * PostgreSQL proxy deciding at the edge with a doctored policy (same version
 * number as the published one, everything allowed) → the statement runs on
 * the real PostgreSQL → the PDP, verifying edge verdicts, publishes
 * VerdictDisputed → the audit projection flags the command and its session →
 * the query API over HTTP and `portcullis audit` show them disputed.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createIdentityVerifier, createPool, createTestBus, eventually, schemaIdent, silentLogger, type Bus, type Pool } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken, postgresUrl } from '@portcullis/infra';
import { createTestDatabase, type TestDatabase } from '@portcullis/infra/targets';
import { createEdgeGate, policyStateFromDocument, publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { createPostgresProxy, parseProxyConfig, startPostgresGateway } from '@portcullis/proxy-postgres';
import { buildApp, startAuditProjection } from '@portcullis/audit-projection';

const issuer = 'http://127.0.0.1:9400';
const policy = readFileSync(fileURLToPath(new URL('../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const cliBin = fileURLToPath(new URL('../../services/cli/bin/portcullis.js', import.meta.url));

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a proxy run with a doctored policy: its verdicts are disputed and the audit shows it', () => {
  const schema = `t_dispute_${randomBytes(4).toString('hex')}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  let db: TestDatabase;
  let bus: Bus;
  let pool: Pool;
  let proxyPort: number;
  let honestPort: number;
  let apiUrl: string;
  let auditor: string;

  before(async () => {
    db = await createTestDatabase('dispute', 'orders-prod');
    await db.table('orders (id int primary key, status text)');
    cleanup.push(() => db.drop());

    bus = createTestBus('dispute-e2e', { partitions: 3 });
    await bus.connect();
    cleanup.push(() => bus.disconnect());
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
    cleanup.push(() => pdp.stop());

    // The doctored proxy: the published version number, but a policy that allows everything.
    const doctored = policyStateFromDocument('apiVersion: portcullis/v1\ndefaultEffect: allow\nrules: []\n', 'doctored.yaml', 1);
    assert.ok(doctored.ok);
    const gate = await createEdgeGate({ bus, logger: silentLogger(), instance: 'doctored-proxy', policyOverride: doctored.state });
    cleanup.push(() => gate.close());
    const config = parseProxyConfig({
      resources: [{ ...db.resource, tags: ['production'] }],
      listen: { host: '127.0.0.1', port: 0 },
      verdictTimeoutMs: 15_000,
    });
    const verifier = createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] });
    const proxy = createPostgresProxy({ config, gate, sink: { decision: 'edge', publish: (event) => bus.publish('sessionEvents', event) }, verifier, logger: silentLogger() });
    cleanup.push(() => proxy.close());
    proxyPort = (await proxy.listen(0, '127.0.0.1')).port;
    // An honest proxy beside it, following the published policy: its verdicts stand.
    const honest = await startPostgresGateway({ config, bus, logger: silentLogger(), issuer, port: 0, host: '127.0.0.1' });
    cleanup.push(() => honest.close());
    honestPort = honest.port;

    pool = createPool(postgresUrl('portcullis'), 4);
    cleanup.push(() => pool.end());
    cleanup.push(() => pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(schema)} CASCADE`));
    const projection = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
    cleanup.push(() => projection.stop());
    const app = await buildApp({ pool, schema, verifier, status: () => [projection.status()] });
    cleanup.push(() => app.close());
    await app.listen({ port: 0, host: '127.0.0.1' });
    apiUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    auditor = await issueHumanToken(issuer, 'carol');
  });
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  const cli = (...args: string[]) => run(process.execPath, [cliBin, ...args], { PORTCULLIS_API_URL: apiUrl, PORTCULLIS_TOKEN: auditor });
  const api = async (path: string) => {
    const res = await fetch(`${apiUrl}${path}`, { headers: { authorization: `Bearer ${auditor}` } });
    assert.equal(res.status, 200, path);
    return (await res.json()) as Record<string, any>;
  };

  it('the DROP the doctored proxy let through is disputed; the query API and `portcullis audit` flag the command and the session', async () => {
    const token = await issueServiceToken(issuer, 'ci-deploy');
    const psql = (port: number, ...statements: string[]) => run('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', 'ci-deploy', '-d', 'orders-prod', ...statements.flatMap((x) => ['-c', x])],
      { PGPASSWORD: token, PGSSLMODE: 'require' });
    const honest = await psql(honestPort, 'SELECT 41 + 1');
    assert.equal(honest.code, 0, honest.stderr);
    // The published policy blocks destructive statements of automation; the doctored proxy allows everything, without naming a rule.
    const doctored = await psql(proxyPort, 'SELECT 1', 'DROP TABLE orders');
    assert.equal(doctored.code, 0, doctored.stderr);
    assert.match(doctored.stdout, /^1\nDROP TABLE$/m, 'the doctored proxy ran the DROP');
    assert.equal((await db.admin(`SELECT to_regclass('${db.schema}.orders') AS t`)).rows[0].t, null);

    const drop = await eventually('the DROP disputed in the audit', async () =>
      (await api('/commands?disputed=true&q=DROP')).items[0], 60_000);
    assert.equal(drop.text, 'DROP TABLE orders');
    assert.equal(drop.verdict.effect, 'allow', 'the audit still says what the proxy decided and what ran');
    assert.equal(drop.outcome.status, 'executed');
    assert.ok(drop.flags.includes('disputed'));
    assert.equal(drop.dispute.expectedEffect, 'block');
    assert.equal(drop.dispute.decidedBy, 'edge:doctored-proxy');
    assert.match(drop.dispute.verifiedBy, /^pdp:/);
    assert.match(drop.dispute.reason, /under policy version 1 the verifier decides block \(automation-no-destructive\), the proxy issued allow/);

    // Its SELECT ran unmasked where the published policy masks automation's reads: disputed too. The honest proxy's SELECT stands.
    const session = await eventually('the SELECT disputed too', async () => {
      const detail = await api(`/sessions/${drop.sessionId}`);
      return detail.commands.every((c: { dispute: unknown }) => c.dispute) ? detail : undefined;
    });
    assert.equal(session.disputed, true);
    assert.deepEqual(session.commands.map((c: { text: string; dispute: { expectedEffect: string } }) => [c.text, c.dispute.expectedEffect]), [['SELECT 1', 'mask'], ['DROP TABLE orders', 'block']]);
    const honestCommand = await eventually('the honest SELECT in the audit', async () => (await api('/commands?q=41')).items[0]);
    assert.equal(honestCommand.dispute, null);
    assert.ok(!honestCommand.flags.includes('disputed'));
    await new Promise((r) => setTimeout(r, 1500)); // the verifier had time to dispute the honest proxy, if it were to
    assert.deepEqual((await api('/commands?disputed=false')).items.map((c: { text: string }) => c.text), ['SELECT 41 + 1']);
    assert.deepEqual((await api('/sessions?disputed=true')).items.map((s: { sessionId: string }) => s.sessionId), [drop.sessionId]);
    assert.deepEqual((await api('/sessions?disputed=false')).items.map((s: { sessionId: string }) => s.sessionId), [honestCommand.sessionId]);

    const sessions = await cli('audit', 'sessions');
    assert.equal(sessions.code, 0, sessions.stderr);
    assert.match(sessions.stdout, new RegExp(`  ${drop.sessionId}  ci-deploy  orders-prod  ok  commands=2 blocked/held=0 flagged=2  DISPUTED\n`));
    assert.match(sessions.stdout, new RegExp(`  ${honestCommand.sessionId}  ci-deploy  orders-prod  ok  commands=1 blocked/held=0 flagged=0\n`));
    const onlyDisputed = await cli('audit', 'sessions', '--disputed');
    assert.doesNotMatch(onlyDisputed.stdout, new RegExp(honestCommand.sessionId));
    const detail = await cli('audit', 'session', drop.sessionId);
    assert.equal(detail.code, 0, detail.stderr);
    assert.match(detail.stdout, /\n {2}DISPUTED: the verifier disagreed with a verdict issued in this session\n/);
    assert.match(detail.stdout, /#\d+ allow executed {2}DROP TABLE orders {2}\[disputed\]\n {6}DISPUTED by pdp:\S+: verdict issued by edge:doctored-proxy, verifier decides block — under policy version 1/);
    const commands = await cli('audit', 'commands', '--disputed', '-q', 'DROP');
    assert.equal(commands.code, 0, commands.stderr);
    assert.match(commands.stdout, /ci-deploy {2}orders-prod {2}allow {2}executed {2}DROP TABLE orders {2}DISPUTED\n {4}DISPUTED by pdp:\S+: verdict issued by edge:doctored-proxy, verifier decides block/);
  });
});
