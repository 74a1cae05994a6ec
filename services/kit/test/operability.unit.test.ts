/** Readiness, the admin server, admin settings and the gateway metrics recorded on the judge path. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, nowIso, type CommandRequested, type VerdictIssued } from '@portcullis/schemas';
import {
  adminSettingsFromEnv, gateCheck, gatewayMetrics, judgeCommand, maskText, readinessReport, runChecks, silentLogger, startAdminServer, targetCatalogCheck,
  DEFAULT_ADMIN_PORTS, PortcullisError, type CommandGate,
} from '../src/index.ts';

const command: CommandRequested = {
  type: 'CommandRequested', eventId: newId(), occurredAt: nowIso(), sessionId: 's-ops', seq: 1, digest: '0'.repeat(64), commandId: newId(),
  identity: { subject: 'ci', issuer: 'http://127.0.0.1:9400', kind: 'service', groups: [] },
  resource: { name: 'ops-metrics-host', kind: 'ssh', tags: [] }, protocol: 'ssh', command: { kind: 'shell', commandLine: 'uptime', channel: 'exec' },
};
const verdict = (effect: VerdictIssued['effect']): VerdictIssued => ({
  type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: 's-ops', commandId: command.commandId, effect,
  ruleIds: ['r1'], reasons: ['because'], policyVersion: 1, final: true, classes: [],
});
const gateAnswering = (answer: () => Promise<VerdictIssued>): CommandGate => ({ judge: answer, awaitFinal: () => new Promise(() => undefined) });

test('given no checks, when readiness is reported, then the service is not ready (nothing proves it is)', () => {
  assert.equal(readinessReport([]).ready, false);
});

test('given one failing check among passing ones, when readiness is reported, then it is not ready and says which', () => {
  const report = readinessReport([{ name: 'kafka', ok: true }, { name: 'registry', ok: false, detail: 'answered 503' }]);
  assert.equal(report.ready, false);
  assert.deepEqual(report.checks.filter((c) => !c.ok).map((c) => c.name), ['registry']);
});

test('given a check that hangs and one that throws, when run, then both fail in bounded time with the reason', async () => {
  const started = Date.now();
  const results = await runChecks([
    { name: 'hangs', check: () => new Promise(() => undefined) },
    { name: 'throws', check: () => { throw new Error('broker down'); } },
    { name: 'passes', check: () => undefined },
  ], 50);
  assert.ok(Date.now() - started < 1000);
  assert.deepEqual(results.map((r) => [r.name, r.ok]), [['hangs', false], ['throws', false], ['passes', true]]);
  assert.match(results[0]!.detail!, /no answer within 50 ms/);
  assert.equal(results[1]!.detail, 'broker down');
});

test('given a gate that cannot decide, when its policy-state check runs, then it fails with the gate\'s reason', async () => {
  const [stale] = await runChecks([gateCheck({ unavailable: () => 'policy not refreshed for 12.0 s' })], 100);
  assert.deepEqual(stale, { name: 'policy-state', ok: false, detail: 'policy not refreshed for 12.0 s' });
  const [fresh] = await runChecks([gateCheck({ unavailable: () => undefined })], 100);
  assert.equal(fresh!.ok, true);
});

test('given a resource whose credential cannot be read, when the target catalog is checked, then it names the resource and not the secret', async () => {
  const resources = [{ name: 'db-a', secret: 'hunter2' }, { name: 'db-b', secret: '' }];
  const [result] = await runChecks([targetCatalogCheck(resources, (r) => {
    if (!r.secret) throw new Error('environment variable DB_B_PASSWORD is not set');
    return r.secret;
  })], 100);
  assert.equal(result!.ok, false);
  assert.equal(result!.detail, 'db-b: environment variable DB_B_PASSWORD is not set');
  const [empty] = await runChecks([targetCatalogCheck([], () => undefined)], 100);
  assert.equal(empty!.detail, 'no resource is configured');
});

test('given no environment, when admin settings are read, then each service has its own loopback port', () => {
  assert.deepEqual(adminSettingsFromEnv('proxy-postgres', {}), { host: '127.0.0.1', port: DEFAULT_ADMIN_PORTS['proxy-postgres'] });
  assert.equal(new Set(Object.values(DEFAULT_ADMIN_PORTS)).size, Object.keys(DEFAULT_ADMIN_PORTS).length, 'no two services share a default port');
  assert.deepEqual(adminSettingsFromEnv('console', { PORTCULLIS_ADMIN_PORT: '0', PORTCULLIS_ADMIN_HOST: '::1' }), { host: '::1', port: 0 });
  assert.throws(() => adminSettingsFromEnv('console', { PORTCULLIS_ADMIN_PORT: 'nine' }), (e: unknown) => e instanceof PortcullisError && e.code === 'PCL_ERR_CONFIG');
  assert.throws(() => adminSettingsFromEnv('console', { PORTCULLIS_ADMIN_PORT: '70000' }), PortcullisError);
});

test('given an admin server, when probed, then /healthz is live, /readyz follows its checks and /metrics is Prometheus text', async () => {
  let registryUp = false;
  const admin = await startAdminServer({
    service: 'unit', host: '127.0.0.1', port: 0, logger: silentLogger(), checkTimeoutMs: 100,
    checks: [{ name: 'registry', check: () => { if (!registryUp) throw new Error('the schema registry answered 503'); } }],
  });
  try {
    const health = await fetch(`${admin.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'ok');
    const notReady = await fetch(`${admin.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.deepEqual(((await notReady.json()) as { checks: unknown[] }).checks, [{ name: 'registry', ok: false, detail: 'the schema registry answered 503' }]);
    registryUp = true;
    assert.equal((await fetch(`${admin.url}/readyz`)).status, 200);
    const metrics = await fetch(`${admin.url}/metrics`);
    assert.match(metrics.headers.get('content-type')!, /^text\/plain/);
    const text = await metrics.text();
    assert.ok(text.includes('# TYPE portcullis_commands_total counter'));
    assert.ok(text.includes('# TYPE portcullis_process_resident_memory_bytes gauge'));
    assert.equal((await fetch(`${admin.url}/metrics`, { method: 'POST' })).status, 405);
    assert.equal((await fetch(`${admin.url}/other`)).status, 404);
  } finally {
    await admin.close();
  }
});

test('given commands judged allow, block and without a verdict, when metrics are read, then each effect is counted once', async () => {
  const commands = gatewayMetrics().commands;
  const count = async (effect: string): Promise<number> =>
    (await commands.get()).values.find((v) => v.labels.resource === 'ops-metrics-host' && v.labels.effect === effect)?.value ?? 0;
  await judgeCommand(gateAnswering(async () => verdict('allow')), command, { timeoutMs: 100, holdTimeoutMs: 100 });
  await judgeCommand(gateAnswering(async () => verdict('block')), command, { timeoutMs: 100, holdTimeoutMs: 100 });
  await judgeCommand(gateAnswering(() => Promise.reject(new Error('broker down'))), command, { timeoutMs: 100, holdTimeoutMs: 100 });
  assert.deepEqual([await count('allow'), await count('block'), await count('no-verdict')], [1, 1, 1]);
});

test('given text with an e-mail and a card number, when masked, then the detectors are counted and no value appears in the metrics', async () => {
  const before = async (detector: string): Promise<number> => (await gatewayMetrics().masked.get()).values.find((v) => v.labels.detector === detector)?.value ?? 0;
  const [email0, card0] = [await before('email'), await before('card')];
  maskText('mail jane.roe@example.com, card 4111 1111 1111 1111', ['email', 'card']);
  assert.equal(await before('email'), email0 + 1);
  assert.equal(await before('card'), card0 + 1);
  const text = await gatewayMetrics().registry.metrics();
  assert.ok(!text.includes('jane.roe') && !text.includes('4111'));
});
