/**
 * npm run bench:projection — events/s from the log to queryable rows, for the
 * audit and the replay projection (real Kafka, registry and PostgreSQL, all
 * on this machine). A burst is written first, then each projection starts
 * from offset 0 and the time until it has caught up is measured.
 *
 * The mix is what the proxies and the PDP write: sessions of a SessionOpened,
 * commands (CommandRequested, VerdictIssued allow/mask/block, OutputRecorded
 * with masked result rows, CommandCompleted), one in ten commands held for an
 * approval (ApprovalRequested, ApprovalVoteRecorded, ApprovalGranted, final
 * VerdictIssued), and a SessionClosed.
 *   PORTCULLIS_BENCH_EVENTS=100000  PORTCULLIS_BENCH_PROJECTIONS=audit,replay  PORTCULLIS_BENCH_PARTITIONS=3
 */
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { createPool, createTestBus, runProjection, schemaIdent, silentLogger, type ProjectionDefinition, type RunningProjection } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { newId, SessionChain, type TopicKey } from '@portcullis/schemas';
import { auditProjection } from '@portcullis/audit-projection';
import { replayProjection } from '../src/tables.ts';

const total = Number(process.env.PORTCULLIS_BENCH_EVENTS ?? 100_000);
const which = (process.env.PORTCULLIS_BENCH_PROJECTIONS ?? 'audit,replay').split(',');
const bus = createTestBus('bench-projection', { partitions: Number(process.env.PORTCULLIS_BENCH_PARTITIONS ?? 3) });
await bus.connect();
const pool = createPool(postgresUrl('portcullis'), 4);
const identity = { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service' as const, groups: ['ci'] };
const approver = { subject: 'alice', issuer: 'http://127.0.0.1:9400', kind: 'human' as const, groups: ['dba'] };
const resource = { name: 'orders-db', kind: 'postgres' as const, tags: ['production'] };
const maskedRows = Array.from({ length: 5 }, (_, i) => [String(i + 1), `Customer ${i + 1}`, `c***@example.com`, '****', '+** *** *** **12']);

const byTopic = new Map<TopicKey, { key: string; value: Buffer }[]>();
const counts = new Map<string, number>();
const add = async (topic: TopicKey, event: Record<string, unknown> & { sessionId: string; type: string }, key = event.sessionId) => {
  const list = byTopic.get(topic) ?? [];
  list.push({ key, value: await bus.codec.encode(topic, event) });
  byTopic.set(topic, list);
  counts.set(event.type, (counts.get(event.type) ?? 0) + 1);
};
let produced = 0;
let n = 0;
const t0 = Date.now();
while (produced < total) {
  const chain = new SessionChain();
  const sessionId = `bench-${newId()}`;
  const env = () => ({ eventId: newId(), occurredAt: new Date().toISOString(), sessionId });
  await add('sessionEvents', chain.next({ type: 'SessionOpened', ...env(), identity, resource, protocol: 'postgres', clientAddress: '127.0.0.1:1' }));
  produced += 1;
  for (let i = 0; i < 4; i++) {
    n++;
    const effect = n % 10 === 0 ? 'hold' : n % 7 === 0 ? 'block' : n % 2 === 0 ? 'mask' : 'allow';
    const text = effect === 'block' ? 'DROP TABLE orders' : effect === 'hold' ? `UPDATE orders SET status = 'shipped' WHERE id = ${n}` : `SELECT id, name, email, card, phone FROM customers WHERE region = ${i}`;
    const cmd = chain.next({ type: 'CommandRequested' as const, ...env(), commandId: newId(), identity, resource, protocol: 'postgres' as const, command: { kind: 'sql' as const, text, phase: 'simple' as const } });
    await add('commands', cmd);
    const verdict = { type: 'VerdictIssued', ...env(), commandId: cmd.commandId, ruleIds: [`rule-${effect}`], reasons: [`bench ${effect}`], policyVersion: 1, classes: [effect === 'block' ? 'ddl' : effect === 'hold' ? 'write' : 'read'] };
    produced += 2;
    if (effect === 'hold') {
      const approvalId = newId();
      await add('verdicts', { ...verdict, effect: 'hold', final: false, approvalId });
      await add('approvals', { type: 'ApprovalRequested', ...env(), approvalId, commandId: cmd.commandId, identity, resource, commandText: text, ruleId: 'rule-hold', approverGroups: ['dba'], quorum: 1, expiresAt: new Date(Date.now() + 3600_000).toISOString(), policyVersion: 1 }, approvalId);
      await add('approvals', { type: 'ApprovalVoteRecorded', ...env(), approvalId, approver }, approvalId);
      await add('approvals', { type: 'ApprovalGranted', ...env(), approvalId, approvers: ['alice'] }, approvalId);
      await add('verdicts', { ...env(), ...verdict, eventId: newId(), effect: 'allow', final: true, approvalId });
      produced += 4;
    } else {
      await add('verdicts', { ...verdict, effect, final: true });
    }
    if (effect === 'allow' || effect === 'mask') {
      await add('sessionEvents', chain.next({ type: 'OutputRecorded', ...env(), commandId: cmd.commandId, format: 'rows', columns: ['id', 'name', 'email', 'card', 'phone'], rows: maskedRows, truncated: false }));
      produced += 1;
    }
    await add('sessionEvents', chain.next({ type: 'CommandCompleted', ...env(), commandId: cmd.commandId, status: effect === 'block' ? 'refused' : 'executed', rows: effect === 'block' ? 0 : 5, durationMs: 1 }));
    produced += 1;
  }
  await add('sessionEvents', chain.next({ type: 'SessionClosed', ...env(), durationMs: 10 }));
  produced += 1;
}
const producer = bus.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
for (const [topic, messages] of byTopic) {
  for (let i = 0; i < messages.length; i += 1000) await producer.send({ topic: bus.names.of(topic), acks: -1, messages: messages.slice(i, i + 1000) });
}
await producer.disconnect();
console.log(`burst: ${produced} events written to Kafka in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${[...counts].map(([t, c]) => `${t} ${c}`).join(', ')}`);

// Where the time goes: decoding (registry wire format + zod), the view's SQL (apply), the rest (Kafka fetch, commit, group join).
const definitions: Record<string, ProjectionDefinition> = { audit: auditProjection, replay: replayProjection };
const timing = { firstDecode: 0, decodeMs: 0, applyMs: 0, applies: 0 };
const decode = bus.codec.decode.bind(bus.codec);
bus.codec.decode = (async (key, value) => {
  const t = performance.now();
  if (!timing.firstDecode) timing.firstDecode = Date.now();
  try {
    return await decode(key, value);
  } finally {
    timing.decodeMs += performance.now() - t;
  }
}) as typeof bus.codec.decode;
const timed = (d: ProjectionDefinition): ProjectionDefinition => ({
  ...d,
  async apply(client, schema, events) {
    const t = performance.now();
    await d.apply(client, schema, events);
    timing.applyMs += performance.now() - t;
    timing.applies++;
  },
});
for (const name of which) {
  Object.assign(timing, { firstDecode: 0, decodeMs: 0, applyMs: 0, applies: 0 });
  const schema = `bench_${name}_${randomBytes(4).toString('hex')}`;
  const load0 = loadavg()[0]!.toFixed(2);
  const cpu0 = process.cpuUsage();
  const started = Date.now();
  const fetchBytes = process.env.PORTCULLIS_BENCH_FETCH_BYTES ? { maxBytesPerPartition: Number(process.env.PORTCULLIS_BENCH_FETCH_BYTES) } : {};
  const projection: RunningProjection = await runProjection({ bus, pool, logger: silentLogger(), schema, definition: timed(definitions[name]!), ...fetchBytes });
  await new Promise((r) => setTimeout(r, 1500));
  const lagSample = (await projection.refreshStatus()).lag;
  await projection.catchUp(600_000);
  const seconds = (Date.now() - started) / 1000;
  const flowing = (Date.now() - timing.firstDecode) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const status = await projection.refreshStatus();
  const transactions = (await projection.metrics.transactions.get()).values.reduce((s, v) => s + v.value, 0);
  const table = name === 'audit' ? 'commands' : 'transcript_events';
  const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schemaIdent(schema)}.${table}`);
  console.log(`${name}: ${produced} events in ${seconds.toFixed(1)} s = ${Math.round(produced / seconds)} events/s (target 30,000/s); ` +
    `${transactions} transactions (${Math.round(produced / Math.max(1, transactions))} events each); projection process CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s; ` +
    `load average before ${load0}, after ${loadavg()[0]!.toFixed(2)}`);
  console.log(`${name}: from the first event fetched to caught up ${flowing.toFixed(1)} s = ${Math.round(produced / flowing)} events/s ` +
    `(start-up and group join before it: ${(seconds - flowing).toFixed(1)} s); decode ${(timing.decodeMs / 1000).toFixed(1)} s, view SQL ${(timing.applyMs / 1000).toFixed(1)} s in ${timing.applies} applies`);
  console.log(`${name}: lag 1.5 s in: ${lagSample} messages; after catching up: ${status.lag} (${status.secondsBehind} s behind); ${table} rows: ${rows[0].n}`);
  await projection.stop();
  await pool.query(`DROP SCHEMA ${schemaIdent(schema)} CASCADE`);
}
await pool.end();
await bus.disconnect();
