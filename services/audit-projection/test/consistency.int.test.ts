/**
 * The audit agrees with what happened and with itself: the approval outcome
 * the PDP acted on is the one the audit shows; the view built with batches
 * cut anywhere, or by a process killed mid-batch and restarted, equals the
 * view rebuilt from offset 0. Real Kafka, registry, PostgreSQL and PDP.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createCommandGate, createTestBus, inTransaction, migrateProjection, projectionMetrics, silentLogger, type Bus, type ProjectedEvent } from '@portcullis/kit';
import { publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { newId, nowIso, type EventOf, type TopicKey } from '@portcullis/schemas';
import { applyAuditBatch } from '../src/audit/apply.ts';
import { auditProjection } from '../src/audit/tables.ts';
import { rebuildAuditProjection, startAuditProjection } from '../src/projection.ts';
import { CraftedSession, dropSchema, dumpView, testPool, testSchema } from './support.ts';
import { publishAll, topicOf } from './publish.ts';

const pool = testPool();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await pool.end();
});

async function withBus(name: string, partitions = 1): Promise<Bus> {
  const bus = createTestBus(name, { partitions });
  await bus.connect();
  cleanup.push(() => bus.disconnect());
  return bus;
}

function schemaFor(name: string): string {
  const schema = testSchema(name);
  cleanup.push(() => dropSchema(pool, schema));
  return schema;
}

const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => (await pool.query(sql, params)).rows as T[];

test('granted, then a racing expiry with a later time: the PDP runs it as granted and the audit says granted', async () => {
  const bus = await withBus('audit-race', 3);
  const policy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
  assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp`, knownResources: ['orders-db'] });
  cleanup.push(() => pdp.stop());
  const gate = await createCommandGate({ bus, timeoutMs: 20_000 });
  cleanup.push(() => gate.close());
  const schema = schemaFor('race');
  const projection = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
  cleanup.push(() => projection.stop());

  const s = new CraftedSession();
  const write = { ...s.command("UPDATE orders SET status = 'shipped' WHERE id = 7"), occurredAt: nowIso() };
  const held = await gate.judge(write);
  assert.equal(held.effect, 'hold');
  const base = { sessionId: s.sessionId, approvalId: held.approvalId! };
  await bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), ...base, approvers: ['alice'] });
  // A second approvals instance, its clock a minute ahead, expired it too: later in the log and later in time.
  await bus.publish('approvals', { type: 'ApprovalExpired', eventId: newId(), occurredAt: new Date(Date.now() + 60_000).toISOString(), ...base });
  const final = await gate.awaitFinal(write.commandId, { timeoutMs: 20_000 });
  assert.equal(final.effect, 'mask', 'what ran: granted (the PII mask still applies)');
  await publishAll(bus, [s.completed(write, 'executed', { rows: 1, tag: 'UPDATE 1' })]);
  await projection.catchUp(30_000);

  const [approval] = await q(`SELECT status, decided_by, command_id FROM ${schema}.approvals WHERE approval_id = $1`, [held.approvalId]);
  assert.deepEqual(approval, { status: 'granted', decided_by: ['alice'], command_id: write.commandId });
  const [command] = await q(`SELECT effect, verdict_final, held, status FROM ${schema}.commands WHERE command_id = $1`, [write.commandId]);
  assert.deepEqual(command, { effect: final.effect, verdict_final: true, held: true, status: 'executed' });
});

/** Sessions with every kind of event, including one whose seq 2 arrives only at the end, an approval and (every third) disputed verdicts. */
function history(sessions: number) {
  const events: { type: string }[] = [];
  let late: { type: string } | undefined;
  for (let i = 0; i < sessions; i++) {
    const s = new CraftedSession();
    const read = s.command(`SELECT id, email FROM customers WHERE id = ${i}`);
    const write = s.command(`UPDATE orders SET status = 'x' WHERE id = ${i}`);
    const approvalId = newId();
    const hold = { ...s.verdict(write, 'hold', ['dba'], ['needs a DBA'], ['write'], false), approvalId };
    const readVerdict = s.verdict(read, 'mask', ['pii-masked'], ['no personal data']);
    const disputes = i % 3 === 0 ? [s.disputed(readVerdict, 'block', 'the verifier decides block'), s.disputed(readVerdict, undefined, 'stale policy')] : [];
    const ts = nowIso();
    const approval = { sessionId: s.sessionId, approvalId };
    const session = [
      s.opened(), read, readVerdict, s.output(read, ['id', 'email'], [[String(i), 'c***@example.test']]),
      s.completed(read, 'executed', { rows: 1 }), ...disputes, write, hold,
      { type: 'ApprovalRequested', eventId: newId(), occurredAt: ts, ...approval, commandId: write.commandId, identity: s.identity, resource: s.resource,
        commandText: 'UPDATE', ruleId: 'dba', approverGroups: ['dba'], quorum: 1, expiresAt: ts, policyVersion: 1 },
      { type: 'ApprovalGranted', eventId: newId(), occurredAt: ts, ...approval, approvers: ['alice'] },
      { type: 'ApprovalExpired', eventId: newId(), occurredAt: new Date(Date.now() + 1000).toISOString(), ...approval },
      { ...s.verdict(write, 'allow', ['dba'], ['approved by alice'], ['write']), approvalId }, s.completed(write, 'executed', { rows: 1 }), s.closed(),
    ];
    if (i === 1) late = session.splice(1, 1)[0];
    events.push(...session);
  }
  return { events, late: late! };
}

const projected = (events: { type: string }[]): ProjectedEvent[] =>
  events.map((event, i) => ({ topicKey: topicOf(event.type), event: event as EventOf<TopicKey>, partition: 0, offset: String(i) }));

test('batches cut at arbitrary points give the view of one batch (set-based writes, chains across batches)', async () => {
  const { events, late } = history(6);
  const all = [...events, late];
  const whole = schemaFor('cut_whole');
  await migrateProjection(pool, whole, auditProjection);
  await inTransaction(pool, (client) => applyAuditBatch(client, whole, projected(all)));
  const expected = await dumpView(pool, whole);
  assert.equal((await q(`SELECT integrity FROM ${whole}.sessions WHERE integrity <> 'ok'`)).length, 0);
  assert.equal(expected.chain_pending!.length, 0);

  let seed = 7;
  const random = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let round = 0; round < 4; round++) {
    const schema = schemaFor(`cut_${round}`);
    await migrateProjection(pool, schema, auditProjection);
    const withOffsets = projected(all);
    for (let i = 0; i < withOffsets.length;) {
      const size = 1 + random(round === 0 ? 3 : 25);
      await inTransaction(pool, (client) => applyAuditBatch(client, schema, withOffsets.slice(i, i + size)));
      i += size;
    }
    assert.deepEqual(await dumpView(pool, schema), expected, `round ${round}`);
  }
});

test('rebuilt from offset 0 with tiny fetches (batches cut by Kafka), and with fetches decoded in small chunks, equals the view built live', async () => {
  const bus = await withBus('audit-tiny', 3);
  const schema = schemaFor('tiny');
  const live = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
  cleanup.push(() => live.stop());
  const { events, late } = history(20);
  await publishAll(bus, events);
  await live.catchUp(60_000);
  const [gap] = await q(`SELECT integrity FROM ${schema}.sessions WHERE integrity = 'gap'`);
  assert.deepEqual(gap, { integrity: 'gap' });
  await publishAll(bus, [late]);
  await live.catchUp(60_000);
  const expected = await dumpView(pool, schema);
  assert.equal((await q(`SELECT 1 FROM ${schema}.sessions WHERE integrity <> 'ok'`)).length, 0);
  await live.stop();
  const rebuilt = schemaFor('tiny_rebuilt');
  const metrics = projectionMetrics();
  const result = await rebuildAuditProjection({ bus, pool, logger: silentLogger(), schema: rebuilt, maxBytesPerPartition: 600, timeoutMs: 120_000, metrics });
  assert.equal(result.events, events.length + 1);
  // Pipelined batches of one partition that share a transaction leave one checkpoint: no transaction failed on the way.
  assert.equal((await metrics.errors.get()).values.reduce((n, v) => n + v.value, 0), 0);
  assert.ok((await metrics.transactions.get()).values[0]!.value > 3, 'many small transactions');
  assert.deepEqual(await dumpView(pool, rebuilt), expected);

  // Big fetches decoded in chunks of 7 events, transactions of at most 20: chunks of one batch in flight together.
  const chunked = schemaFor('chunked_rebuilt');
  const chunkedMetrics = projectionMetrics();
  await rebuildAuditProjection({ bus, pool, logger: silentLogger(), schema: chunked, decodeChunkEvents: 7, maxTransactionEvents: 20, timeoutMs: 120_000, metrics: chunkedMetrics });
  assert.equal((await chunkedMetrics.errors.get()).values.reduce((n, v) => n + v.value, 0), 0);
  const chunkedTransactions = (await chunkedMetrics.transactions.get()).values[0]!.value;
  assert.ok(chunkedTransactions >= Math.ceil((events.length + 1) / 20), `${events.length + 1} events in ${chunkedTransactions} transactions of at most 20`);
  assert.deepEqual(await dumpView(pool, chunked), expected);
});

test('SIGKILL in the middle of applying: after a restart nothing is lost and nothing is applied twice', async () => {
  const bus = await withBus('audit-kill', 3);
  const schema = schemaFor('kill');
  const { events, late } = history(150);
  await publishAll(bus, [...events, late]);
  const child = fileURLToPath(new URL('./projection-child.ts', import.meta.url));
  const env = { ...process.env, CHILD_NAMESPACE: bus.names.namespace, CHILD_SCHEMA: schema };
  let killedMidway = false;
  for (let attempt = 0; attempt < 6 && !killedMidway; attempt++) {
    const proc = fork(child, [], { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    // Killed as soon as the first transaction committed and while more are being applied.
    await new Promise<void>((resolve) => proc.on('message', (m) => { if (m === 'committed') resolve(); }));
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    const [applied] = await q<{ n: number }>(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${schema}.checkpoints`);
    killedMidway = applied!.n > 0 && applied!.n < events.length + 1;
  }
  assert.ok(killedMidway, 'the child was killed with part of the log applied');
  // Restarted: continues from the checkpoints.
  const resumed = await startAuditProjection({ bus, pool, logger: silentLogger(), schema, groupId: 'kill-child' });
  await resumed.catchUp(120_000);
  await resumed.stop();
  const rebuilt = schemaFor('kill_rebuilt');
  await rebuildAuditProjection({ bus, pool, logger: silentLogger(), schema: rebuilt, timeoutMs: 120_000 });
  const [restarted, fresh] = [await dumpView(pool, schema), await dumpView(pool, rebuilt)];
  assert.deepEqual(restarted, fresh);
  // Nothing twice: one link per chained event, no command twice, and every approval decided by its first outcome.
  const chained = events.filter((e) => 'seq' in e).length + 1;
  assert.equal(restarted.chain_links!.length, chained);
  assert.equal(restarted.commands!.length, 300);
  assert.deepEqual(await q(`SELECT status, count(*)::int AS n FROM ${schema}.approvals GROUP BY status`), [{ status: 'granted', n: 150 }]);
  // Every third session had its read's verdict disputed twice: the first dispute is shown, whatever the cut.
  assert.deepEqual(await q(`SELECT count(*)::int AS n, count(DISTINCT dispute_reason)::int AS reasons, min(dispute_reason) AS reason FROM ${schema}.commands WHERE dispute_event_id IS NOT NULL`),
    [{ n: 50, reasons: 1, reason: 'the verifier decides block' }]);
  assert.equal((await q(`SELECT 1 FROM ${schema}.sessions WHERE disputed`)).length, 50);
  assert.equal((await q(`SELECT 1 FROM ${schema}.sessions WHERE integrity <> 'ok'`)).length, 0);
});
