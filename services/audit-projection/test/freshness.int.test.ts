/**
 * How current the audit is, as an operator and an auditor see it: /metrics
 * (lag and seconds behind per partition), /status, the `asOf` of every
 * answer, and `portcullis audit status`. Real Kafka, PostgreSQL, OpenID provider.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { createIdentityVerifier, createTestBus, silentLogger } from '@portcullis/kit';
import { issueHumanToken } from '@portcullis/infra';
import { buildApp } from '../src/api/app.ts';
import { startAuditProjection } from '../src/projection.ts';
import { CraftedSession, dropSchema, ISSUER, testPool, testSchema } from './support.ts';
import { publishAll } from './publish.ts';

const pool = testPool();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await pool.end();
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = fileURLToPath(new URL('../../cli/bin/portcullis.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('lag and seconds behind are visible in /metrics, /status, every answer (asOf) and `portcullis audit status`', async () => {
  const bus = createTestBus('audit-fresh');
  await bus.connect();
  const schema = testSchema('fresh');
  cleanup.push(() => bus.disconnect(), () => dropSchema(pool, schema));
  const projection = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
  cleanup.push(() => projection.stop());
  const app = await buildApp({
    pool, schema, metrics: [projection.metrics.registry], status: () => [projection.status()],
    verifier: createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] }),
  });
  cleanup.push(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const token = await issueHumanToken(ISSUER, 'carol');

  const s = new CraftedSession();
  const cmd = s.command('SELECT 1');
  await publishAll(bus, [s.opened(), cmd, s.verdict(cmd, 'allow', ['r'], ['ok']), s.completed(cmd, 'executed')]);
  const before = Date.now();
  await projection.catchUp();

  // Caught up: no lag, 0 s behind, asOf is about now.
  const page = await request(`${url}/commands`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await page.body.json()) as { items: unknown[]; asOf: string };
  assert.equal(body.items.length, 1);
  assert.ok(Date.parse(body.asOf) >= before - 1000, `asOf ${body.asOf} is current`);
  assert.equal(page.headers['portcullis-as-of'], body.asOf);
  const metrics = await (await request(`${url}/metrics`)).body.text();
  assert.match(metrics, new RegExp(`portcullis_projection_consumer_lag\\{projection="audit",topic="${bus.names.of('commands')}",partition="0"\\} 0`));
  assert.match(metrics, new RegExp(`portcullis_projection_seconds_behind\\{projection="audit",topic="${bus.names.of('sessionEvents')}",partition="0"\\} 0`));
  const caughtUp = await cli(['audit', 'status'], { PORTCULLIS_API_URL: url, PORTCULLIS_TOKEN: token });
  assert.equal(caughtUp.code, 0, caughtUp.stderr);
  assert.match(caughtUp.stdout, /^audit: lag 0 events, 0\.0 s behind the newest event/m);
  assert.match(caughtUp.stdout, new RegExp(`^  ${bus.names.of('commands').replaceAll('.', '\\.')}\\[0\\]  position 1 of 1  lag 0  0\\.0 s behind$`, 'm'));

  // The projection stops applying (PostgreSQL down, a crash): events keep coming, the lag shows it.
  await projection.stop();
  await new Promise((r) => setTimeout(r, 1100));
  const more = s.command('SELECT 2');
  await publishAll(bus, [more, s.verdict(more, 'allow', ['r'], ['ok'])]);
  const status = await projection.refreshStatus();
  assert.equal(status.lag, 2);
  assert.ok(status.secondsBehind >= 1, `seconds behind: ${status.secondsBehind}`);
  assert.ok(Date.parse(status.asOf!) <= Date.now() - 1000);
  const behind = await cli(['audit', 'status', '--json'], { PORTCULLIS_API_URL: url, PORTCULLIS_TOKEN: token });
  const json = JSON.parse(behind.stdout) as { asOf: string; projections: { lag: number; partitions: { topic: string; lag: number; secondsBehind: number }[] }[] };
  assert.equal(json.projections[0]!.lag, 2);
  const commands = json.projections[0]!.partitions.find((p) => p.topic === bus.names.of('commands'))!;
  assert.equal(commands.lag, 1);
  assert.ok(commands.secondsBehind >= 1);
  const stale = await request(`${url}/sessions`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(((await stale.body.json()) as { asOf: string }).asOf, status.asOf);
});
