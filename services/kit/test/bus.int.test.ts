import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import kafkajs from 'kafkajs';
import { newId, nowIso, SessionChain, type CommandRequested, type EventOf } from '@portcullis/schemas';
import { createTestBus, eventually, type DeliveredEvent, type DeadLetter } from '../src/index.ts';

const identity = { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service' as const, groups: ['ci'] };
const resource = { name: 'orders-db', kind: 'postgres' as const, tags: ['prod'] };

function command(sessionId: string, chain: SessionChain, text = 'SELECT 1'): CommandRequested {
  return chain.next({
    type: 'CommandRequested' as const,
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId,
    commandId: newId(),
    identity,
    resource,
    protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text, phase: 'simple' as const },
  });
}

const buses: { disconnect(): Promise<void> }[] = [];
after(async () => {
  await Promise.all(buses.map((b) => b.disconnect()));
});

test('an event published through the registry arrives typed and validated, in order per session', async () => {
  const bus = createTestBus('roundtrip');
  buses.push(bus);
  await bus.connect();
  const seen: DeliveredEvent<'commands'>[] = [];
  const sub = await bus.subscribe({ groupId: 'reader', topics: ['commands'], fromBeginning: true, handler: async (d) => void seen.push(d) });
  await sub.ready;
  const chain = new SessionChain();
  const sent = [command('s-1', chain, 'SELECT 1'), command('s-1', chain, 'SELECT 2'), command('s-1', chain, 'SELECT 3')];
  for (const e of sent) await bus.publish('commands', e);
  await eventually('three events', () => seen.length >= 3 || undefined);
  assert.deepEqual(seen.map((d) => d.event.command.kind === 'sql' && d.event.command.text), ['SELECT 1', 'SELECT 2', 'SELECT 3']);
  assert.deepEqual(seen.map((d) => d.event.seq), [1, 2, 3]);
  assert.equal(seen[0]!.key, 's-1');
  // The value on the wire is the Confluent format: magic byte 0 and a 4-byte schema id.
  const raw = await bus.codec.encode('commands', sent[0]);
  assert.equal(raw[0], 0);
  assert.ok(raw.readUInt32BE(1) > 0);
});

test('an invalid event is refused before it reaches Kafka', async () => {
  const bus = createTestBus('refuse');
  buses.push(bus);
  await bus.connect();
  const bad = { ...command('s-2', new SessionChain()), protocol: 'telnet' } as unknown as CommandRequested;
  await assert.rejects(bus.publish('commands', bad), /invalid: protocol/);
});

test('a consumer survives bytes not in the wire format, an unknown schema id, an invalid payload and a failing handler', async () => {
  const bus = createTestBus('dlq');
  buses.push(bus);
  await bus.connect();
  const handled: string[] = [];
  const letters: DeadLetter[] = [];
  const sub = await bus.subscribe({
    groupId: 'reader',
    topics: ['commands'],
    fromBeginning: true,
    attempts: 2,
    retryBackoffMs: 10,
    onDeadLetter: (l) => letters.push(l),
    handler: async ({ event }) => {
      const text = event.command.kind === 'sql' ? event.command.text : '';
      if (text === 'poison') throw new Error('handler cannot cope');
      handled.push(text);
    },
  });
  await sub.ready;
  const producer = bus.kafka.producer();
  await producer.connect();
  const topic = bus.names.of('commands');
  // 1. not the wire format
  await producer.send({ topic, messages: [{ key: 'x', value: Buffer.from('{"type":"CommandRequested"}') }] });
  // 2. magic byte, but a schema id the registry does not know
  const unknownId = Buffer.alloc(5 + 2);
  unknownId.writeUInt8(0, 0);
  unknownId.writeUInt32BE(987_654_321, 1);
  unknownId.write('{}', 5);
  await producer.send({ topic, messages: [{ key: 'x', value: unknownId }] });
  // 3. a real schema id with a payload that fails the contract: encode against the verdicts schema
  const verdict: EventOf<'verdicts'> = {
    type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: 'x', commandId: newId(), effect: 'allow',
    ruleIds: [], reasons: [], policyVersion: 1, final: true, classes: [],
  };
  await producer.send({ topic, messages: [{ key: 'x', value: await bus.codec.encode('verdicts', verdict) }] });
  // 4. a valid event the handler fails on, then 5. a good one
  const chain = new SessionChain();
  await bus.publish('commands', command('s-3', chain, 'poison'));
  await bus.publish('commands', command('s-3', chain, 'SELECT after'));
  await producer.disconnect();

  await eventually('the good event after the bad ones', () => handled.includes('SELECT after') || undefined);
  await eventually('four dead letters', () => letters.length >= 4 || undefined);
  assert.match(letters[0]!.reason, /not in the schema registry wire format/);
  assert.match(letters[1]!.reason, /could not be decoded/);
  assert.match(letters[2]!.reason, /fails validation/);
  assert.match(letters[3]!.reason, /handler failed: handler cannot cope/);

  // The dead-letter topic holds the original bytes with the reason in headers.
  const dlqReader = bus.kafka.consumer({ groupId: `${bus.names.namespace}-dlq-check` });
  await dlqReader.connect();
  await dlqReader.subscribe({ topic: bus.names.deadLetter, fromBeginning: true });
  const reasons: string[] = [];
  await dlqReader.run({ eachMessage: async ({ message }) => void reasons.push(String(message.headers?.['portcullis-dlq-reason'])) });
  await eventually('dead letters on the topic', () => reasons.length >= 4 || undefined);
  await dlqReader.disconnect();
  assert.match(reasons[0]!, /wire format/);
});

test('topics are created with the settings the log needs', async () => {
  const bus = createTestBus('topics');
  buses.push(bus);
  await bus.connect();
  const admin = await bus.admin();
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [
      { type: kafkajs.ConfigResourceTypes.TOPIC, name: bus.names.of('commands') },
      { type: kafkajs.ConfigResourceTypes.TOPIC, name: bus.names.of('policies') },
    ],
  });
  const value = (i: number, name: string): string | undefined => resources[i]!.configEntries.find((e) => e.configName === name)?.configValue;
  assert.equal(value(0, 'retention.ms'), '-1');
  assert.equal(value(1, 'cleanup.policy'), 'compact');
});
