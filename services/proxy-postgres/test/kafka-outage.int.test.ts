/**
 * Kafka SIGKILLed under a stream of statements through the proxy (deciding
 * at the edge). The broker is one of this test's own (startPrivateKafka):
 * the shared one is never touched. Every row the target has was inserted by
 * a statement whose CommandRequested and verdict are in the log; statements
 * sent while the broker is down are refused with a clear error; the proxy
 * recovers by itself when the broker returns.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { EventOf } from '@portcullis/schemas';
import { busConfigFromEnv, createBus, eventually, silentLogger, type Bus } from '@portcullis/kit';
import { freeLoopbackPort, issueServiceToken, startPrivateKafka, type PrivateKafka } from '@portcullis/infra';
import { publishPolicy } from '@portcullis/policy-decision';
import { parseProxyConfig } from '../src/config.ts';
import { startPostgresGateway, type PostgresGateway } from '../src/gateway.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';

const issuer = 'http://127.0.0.1:9400';
const policy = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: runs
    effect: allow
    reason: the job records its runs
    match: { sql: { classes: [read, write] } }
`;

interface Attempt { n: number; ok: boolean; error?: string; phase: 'before' | 'down' | 'after' }

describe('Kafka killed while statements flow through the proxy', () => {
  let dir: string;
  let kafka: PrivateKafka;
  let bus: Bus;
  let target: TestTarget;
  let gateway: PostgresGateway;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pcl-kafka-outage-'));
    kafka = await startPrivateKafka({ dir, port: await freeLoopbackPort(), controllerPort: await freeLoopbackPort() });
    bus = createBus({ config: { ...busConfigFromEnv('outage-test'), brokers: kafka.brokers }, logger: silentLogger(), namespace: `t-outage-${randomBytes(4).toString('hex')}`, partitions: 1 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'runs.yaml' })).ok);
    target = await createTestTarget('outage');
    await target.admin(`CREATE TABLE ${target.schema}.runs (n int primary key)`);
    await target.admin(`ALTER TABLE ${target.schema}.runs OWNER TO ${target.role}`);
    const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, verdictTimeoutMs: 1500, policyStalenessMs: 120_000 });
    gateway = await startPostgresGateway({ config, bus, logger: silentLogger(), issuer, port: 0 });
  });
  after(async () => {
    await gateway?.close();
    await bus?.disconnect();
    await kafka?.kill('SIGTERM');
    await target?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // This test found kafkajs acknowledging, after the restart, a batch it never wrote (a statement ran
  // unrecorded); the bus now renews its idempotent producer after a failed send (createRenewingProducer).
  it('no statement runs unrecorded; refused while the broker is down; recovers by itself', async (t) => {
    const client = new pg.Client({ host: '127.0.0.1', port: gateway.port, user: 'ci-deploy', database: target.resource.name, password: await issueServiceToken(issuer, 'ci-deploy'), ssl: { rejectUnauthorized: false } });
    await client.connect();
    client.on('error', () => undefined);
    const attempts: Attempt[] = [];
    let phase: Attempt['phase'] = 'before';
    let n = 0;
    let stop = false;
    const stream = (async () => {
      while (!stop) {
        const attempt: Attempt = { n: ++n, ok: false, phase };
        try {
          await client.query(`INSERT INTO runs VALUES (${attempt.n})`);
          attempt.ok = true;
        } catch (err) {
          attempt.error = (err as Error).message;
        }
        attempts.push(attempt);
      }
    })();
    await eventually('statements running', () => (attempts.filter((a) => a.ok).length >= 20 ? true : undefined), 30_000);
    const killedAt = performance.now();
    await kafka.kill('SIGKILL');
    phase = 'down';
    await eventually('statements refused while Kafka is down', () => (attempts.filter((a) => a.phase === 'down' && !a.ok).length >= 3 ? true : undefined), 60_000);
    await kafka.start();
    phase = 'after';
    const restartedAt = performance.now();
    await eventually('the proxy recovers by itself', () => (attempts.filter((a) => a.phase === 'after' && a.ok).length >= 10 ? true : undefined), 180_000);
    t.diagnostic(`broker down ${((restartedAt - killedAt) / 1000).toFixed(1)} s; statements ran again ${((performance.now() - restartedAt) / 1000).toFixed(1)} s after it answered; ${attempts.filter((a) => !a.ok).length} refused`);
    stop = true;
    await stream;
    await client.end();

    const refused = attempts.filter((a) => !a.ok);
    for (const a of refused) assert.match(a.error ?? '', /Portcullis could not get a verdict for this statement, so it was not run: .*(could not be recorded|no verdict within)/);
    // Every row on the target came from a statement whose command and verdict are in the log.
    const rows = (await target.admin(`SELECT n FROM ${target.schema}.runs ORDER BY n`)).rows.map((r: { n: number }) => r.n);
    assert.ok(rows.length >= 30);
    const log = { commands: new Map<string, string>(), verdicts: new Map<string, EventOf<'verdicts'>>() };
    const deadLetters: string[] = [];
    const reader = await bus.subscribe({
      groupId: 'outage-reader', topics: ['commands', 'verdicts'], fromBeginning: true,
      onDeadLetter: (d) => deadLetters.push(`${d.topic}@${d.offset}: ${d.reason}`),
      handler: async ({ topicKey, event }) => {
        if (topicKey === 'commands' && event.type === 'CommandRequested' && event.command.kind === 'sql') log.commands.set(event.command.text, event.commandId);
        if (topicKey === 'verdicts' && event.type === 'VerdictIssued') log.verdicts.set(event.commandId, event);
      },
    });
    try {
      await reader.ready;
      await eventually('the log read back', () => (rows.every((r) => log.verdicts.has(log.commands.get(`INSERT INTO runs VALUES (${r})`) ?? '')) ? true : undefined), 120_000).catch(() => undefined);
      const missing = rows.filter((r) => !log.commands.has(`INSERT INTO runs VALUES (${r})`));
      if (missing.length) {
        const around = attempts.filter((a) => missing.some((m) => Math.abs(m - a.n) <= 2)).map((a) => `${a.n}:${a.phase}:${a.ok ? 'ok' : a.error}`);
        t.diagnostic(`missing ${missing.join(',')}; read ${log.commands.size} commands, ${log.verdicts.size} verdicts; dead letters ${deadLetters.join(' | ')}; attempts around: ${around.join(' | ')}`);
      }
      for (const r of rows) {
        const commandId = log.commands.get(`INSERT INTO runs VALUES (${r})`);
        assert.ok(commandId, `row ${r} ran, so its CommandRequested is in the log`);
        assert.equal(log.verdicts.get(commandId)?.type === 'VerdictIssued' && (log.verdicts.get(commandId) as { effect: string }).effect, 'allow', `row ${r}: its verdict is in the log`);
      }
      // Nothing refused ran.
      for (const a of refused) assert.ok(!rows.includes(a.n), `refused statement ${a.n} did not run`);
    } finally {
      await reader.stop();
    }
  });
});
