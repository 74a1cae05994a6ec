import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createTestBus, eventually, silentLogger, type Bus } from '@portcullis/kit';
import { auditProjection } from '../src/audit/tables.ts';
import { rebuildAuditProjection, startAuditProjection } from '../src/projection.ts';
import type { RunningProjection } from '@portcullis/kit';
import { CraftedSession, dropSchema, dumpView, testPool, testSchema } from './support.ts';
import { publishAll } from './publish.ts';

const pool = testPool();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await pool.end();
});

async function setup(name: string): Promise<{ bus: Bus; schema: string; start: () => Promise<RunningProjection> }> {
  const bus = createTestBus(name);
  await bus.connect();
  const schema = testSchema(name);
  cleanup.push(() => bus.disconnect(), () => dropSchema(pool, schema));
  const start = async () => {
    const p = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
    cleanup.push(() => p.stop());
    return p;
  };
  return { bus, schema, start };
}

const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => (await pool.query(sql, params)).rows as T[];

test('a session becomes sessions and commands rows; replaying every event again leaves the same view; rebuild equals live', async () => {
  const { bus, schema, start } = await setup('audit-live');
  const projection = await start();
  const s = new CraftedSession();
  const read = s.command('SELECT id, email FROM customers WHERE id = $1', { phase: 'bind', parameters: ['7'] });
  const drop = s.command('DROP TABLE orders');
  const events = [
    s.opened(), read, s.verdict(read, 'mask', ['pii-masked'], ['automation never sees personal data']),
    s.output(read, ['id', 'email'], [['7', 'c***@example.test']]), s.completed(read, 'executed', { rows: 1, tag: 'SELECT 1' }),
    drop, s.verdict(drop, 'block', ['automation-no-destructive'], ['automation must not run destructive statements'], ['ddl']),
    s.completed(drop, 'refused'), s.closed(),
  ];
  await publishAll(bus, events);
  await projection.catchUp();

  const [session] = await q(`SELECT * FROM ${schema}.sessions`);
  assert.equal(session!.session_id, s.sessionId);
  assert.equal(session!.identity_subject, 'ci-deploy');
  assert.equal(session!.integrity, 'ok');
  assert.equal(session!.last_seq, 7);
  assert.ok(session!.closed_at);
  const commands = await q(`SELECT text, effect, status, rule_ids, parameters, row_count FROM ${schema}.commands ORDER BY seq`);
  assert.deepEqual(commands.map((c) => [c.text, c.effect, c.status]), [
    ['SELECT id, email FROM customers WHERE id = $1', 'mask', 'executed'],
    ['DROP TABLE orders', 'block', 'refused'],
  ]);
  assert.deepEqual(commands[0]!.parameters, ['7']);
  const [identity] = await q(`SELECT subject, kind, groups FROM ${schema}.identities`);
  assert.deepEqual(identity, { subject: 'ci-deploy', kind: 'service', groups: ['ci'] });

  const live = await dumpView(pool, schema);
  // The same events again (a producer retry, a replayed topic): nothing changes.
  await publishAll(bus, events);
  await projection.catchUp();
  assert.deepEqual(await dumpView(pool, schema), live);

  // Rebuilt from offset 0: equal to the live view.
  await projection.stop();
  const rebuilt = await rebuildAuditProjection({ bus, pool, logger: silentLogger(), schema, timeoutMs: 30_000 });
  assert.equal(rebuilt.events, events.length * 2);
  assert.deepEqual(await dumpView(pool, schema), live);
});

test('the view does not depend on the order events arrive in, across topics', async () => {
  const { bus, schema, start } = await setup('audit-order');
  const s = new CraftedSession();
  const cmd = s.command("UPDATE orders SET status = 'shipped' WHERE id = 7");
  const opened = s.opened();
  const hold = s.verdict(cmd, 'hold', ['automation-write-production'], ['needs a DBA'], ['write'], false);
  const allow = s.verdict(cmd, 'allow', ['automation-write-production'], ['approved'], ['write']);
  const done = s.completed(cmd, 'executed', { rows: 1, tag: 'UPDATE 1' });
  const closed = s.closed();
  // Final verdict, outcome and close arrive before the command and the provisional hold.
  await publishAll(bus, [allow, done, closed, hold, cmd, opened]);
  const projection = await start();
  await projection.catchUp();
  const [row] = await q(`SELECT effect, held, status, text, verdict_final FROM ${schema}.commands`);
  assert.deepEqual(row, { effect: 'allow', held: true, status: 'executed', text: "UPDATE orders SET status = 'shipped' WHERE id = 7", verdict_final: true });
  const [session] = await q(`SELECT integrity, identity_subject FROM ${schema}.sessions`);
  assert.deepEqual(session, { integrity: 'ok', identity_subject: 'ci-deploy' });
});

test('integrity: a missing seq is a gap, an altered event is tampering; commands without verdict, outcome or allow are flagged', async () => {
  const { bus, schema, start } = await setup('audit-integrity');
  const projection = await start();

  const gap = new CraftedSession();
  const g1 = gap.opened();
  gap.command('SELECT 1'); // seq 2 never reaches Kafka
  const g3 = gap.command('SELECT 2');
  const tamper = new CraftedSession();
  const t1 = tamper.opened();
  const t2 = tamper.command('SELECT * FROM orders');
  const altered = { ...t2, command: { ...t2.command, text: 'SELECT 1' } };
  const flags = new CraftedSession();
  const noVerdict = flags.command('SELECT 3');
  const noOutcome = flags.command('SELECT 4');
  const sneaky = flags.command('DELETE FROM orders');
  await publishAll(bus, [
    g1, g3, t1, altered, flags.opened(),
    noVerdict, noOutcome, flags.verdict(noOutcome, 'allow', ['automation-read'], ['read']),
    sneaky, flags.verdict(sneaky, 'block', ['automation-no-destructive'], ['destructive']), flags.completed(sneaky, 'executed', { rows: 40 }),
    flags.completed(noVerdict, 'refused'), flags.closed(),
  ]);
  await projection.catchUp();
  const sessions = new Map((await q<{ session_id: string; integrity: string; missing_seq: number | null; tampered_seq: number | null; tampered_event_id: string | null }>(
    `SELECT session_id, integrity, missing_seq, tampered_seq, tampered_event_id FROM ${schema}.sessions`)).map((r) => [r.session_id, r]));
  assert.deepEqual(sessions.get(gap.sessionId), { session_id: gap.sessionId, integrity: 'gap', missing_seq: 2, tampered_seq: null, tampered_event_id: null });
  assert.deepEqual(sessions.get(tamper.sessionId), { session_id: tamper.sessionId, integrity: 'tampered', missing_seq: null, tampered_seq: 2, tampered_event_id: t2.eventId });
  assert.equal(sessions.get(flags.sessionId)!.integrity, 'ok');

  const { commandFlags } = await import('../src/api/queries.ts');
  const flagged = await q<{ text: string; flags: string[] }>(`SELECT c.text, ${commandFlags} AS flags FROM ${schema}.commands c LEFT JOIN ${schema}.sessions s USING (session_id) WHERE c.session_id = $1 ORDER BY c.seq`, [flags.sessionId]);
  assert.deepEqual(flagged, [
    { text: 'SELECT 3', flags: ['no-verdict'] },
    { text: 'SELECT 4', flags: ['no-outcome'] },
    { text: 'DELETE FROM orders', flags: ['executed-without-allow'] },
  ]);
});

test('a message that is not a valid event goes to the dead-letter topic and the projection carries on', async () => {
  const { bus, schema, start } = await setup('audit-dlq');
  const projection = await start();
  const producer = bus.kafka.producer();
  await producer.connect();
  await producer.send({ topic: bus.names.of('commands'), messages: [{ key: 'x', value: Buffer.from('not an event') }] });
  const s = new CraftedSession();
  const bogus = { type: 'CommandRequested', sessionId: s.sessionId, seq: 1 };
  await producer.send({ topic: bus.names.of('sessionEvents'), messages: [{ key: 'x', value: await bus.codec.encode('verdicts', s.verdict(s.command('SELECT 1'), 'allow', [], [])) }] });
  await producer.disconnect();
  void bogus;
  const good = s.opened();
  await publishAll(bus, [good]);
  await projection.catchUp();
  assert.equal((await q(`SELECT 1 FROM ${schema}.sessions WHERE session_id = $1`, [s.sessionId])).length, 1);

  const letters: { reason: string }[] = [];
  const consumer = bus.kafka.consumer({ groupId: bus.names.group('dlq-reader') });
  await consumer.connect();
  await consumer.subscribe({ topics: [bus.names.deadLetter], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => { letters.push({ reason: message.headers!['portcullis-dlq-reason']!.toString() }); } });
  await eventually('two dead letters', () => letters.length >= 2 || undefined);
  await consumer.disconnect();
  // The two come from two topics, read side by side: their order in the dead-letter topic is not fixed.
  assert.equal(letters.length, 2);
  assert.equal(letters.filter((l) => /wire format/.test(l.reason)).length, 1, JSON.stringify(letters));
  assert.equal(letters.filter((l) => /fails validation/.test(l.reason)).length, 1, JSON.stringify(letters));
  const metrics = await projection.metrics.registry.metrics();
  assert.match(metrics, /portcullis_projection_dead_letters_total\{projection="audit",topic="[^"]+"\} 1/);
  assert.match(metrics, /portcullis_projection_events_processed_total\{projection="audit",type="SessionOpened"\} 1/);
  assert.equal(auditProjection.name, 'audit');
});
