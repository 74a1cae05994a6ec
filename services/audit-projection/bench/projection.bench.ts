/**
 * npm run bench:projection — events/s the audit projection sustains and its
 * lag after a burst of 100,000 events (real Kafka, registry and PostgreSQL).
 *   PORTCULLIS_BENCH_EVENTS=100000
 */
import { randomBytes } from 'node:crypto';
import { createTestBus, silentLogger } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { newId, SessionChain, type TopicKey } from '@portcullis/schemas';
import { createPool, schemaIdent } from '../src/db.ts';
import { startAuditProjection } from '../src/projection.ts';

const total = Number(process.env.PORTCULLIS_BENCH_EVENTS ?? 100_000);
const bus = createTestBus('bench-projection', { partitions: 3 });
await bus.connect();
const pool = createPool(postgresUrl('portcullis'), 4);
const schema = `bench_${randomBytes(4).toString('hex')}`;
const identity = { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service' as const, groups: ['ci'] };
const resource = { name: 'orders-db', kind: 'postgres' as const, tags: ['production'] };

// Sessions of 11 events: opened, 3 × (command, verdict, completed), closed.
const byTopic = new Map<TopicKey, { key: string; value: Buffer }[]>();
const add = async (topic: TopicKey, event: Record<string, unknown> & { sessionId: string }) => {
  const list = byTopic.get(topic) ?? [];
  list.push({ key: event.sessionId, value: await bus.codec.encode(topic, event) });
  byTopic.set(topic, list);
};
let produced = 0;
const t0 = Date.now();
while (produced < total) {
  const chain = new SessionChain();
  const sessionId = `bench-${newId()}`;
  const env = () => ({ eventId: newId(), occurredAt: new Date().toISOString(), sessionId });
  await add('sessionEvents', chain.next({ type: 'SessionOpened', ...env(), identity, resource, protocol: 'postgres', clientAddress: '127.0.0.1:1' }));
  for (let i = 0; i < 3; i++) {
    const cmd = chain.next({ type: 'CommandRequested' as const, ...env(), commandId: newId(), identity, resource, protocol: 'postgres' as const, command: { kind: 'sql' as const, text: `SELECT * FROM orders WHERE id = ${i}`, phase: 'simple' as const } });
    await add('commands', cmd);
    await add('verdicts', { type: 'VerdictIssued', ...env(), commandId: cmd.commandId, effect: 'allow', ruleIds: ['automation-read'], reasons: ['automation may read'], policyVersion: 1, final: true, classes: ['read'] });
    await add('sessionEvents', chain.next({ type: 'CommandCompleted', ...env(), commandId: cmd.commandId, status: 'executed', rows: 1, durationMs: 1 }));
  }
  await add('sessionEvents', chain.next({ type: 'SessionClosed', ...env(), durationMs: 10 }));
  produced += 11;
}
const producer = bus.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
for (const [topic, messages] of byTopic) {
  for (let i = 0; i < messages.length; i += 500) await producer.send({ topic: bus.names.of(topic), acks: -1, messages: messages.slice(i, i + 500) });
}
await producer.disconnect();
console.log(`burst: ${produced} events written to Kafka in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

const started = Date.now();
const projection = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
await new Promise((r) => setTimeout(r, 1500));
const lagSample = (await projection.metrics.consumerLag.get()).values.reduce((n, v) => n + v.value, 0);
await projection.catchUp(600_000);
const seconds = (Date.now() - started) / 1000;
const lagAfter = (await projection.metrics.consumerLag.get()).values.reduce((n, v) => n + v.value, 0);
const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${schemaIdent(schema)}.commands`);
console.log(`projection: ${produced} events in ${seconds.toFixed(1)} s = ${Math.round(produced / seconds)} events/s (target 5,000/s)`);
console.log(`lag 1.5 s into the burst: ${lagSample} messages; lag after catching up: ${lagAfter}; commands rows: ${rows[0].n}`);
await projection.stop();
await pool.query(`DROP SCHEMA ${schemaIdent(schema)} CASCADE`);
await pool.end();
await bus.disconnect();
