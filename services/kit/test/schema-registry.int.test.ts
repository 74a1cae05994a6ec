import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { z } from 'zod';
import { jsonSchemaOf, subjectOf, topics } from '@portcullis/schemas';
import { busConfigFromEnv, createEventCodec, createTestBus } from '../src/index.ts';

const registryUrl = busConfigFromEnv('test').registryUrl;

test('every topic schema is registered under <topic>-value with BACKWARD compatibility', async () => {
  const bus = createTestBus('subjects');
  try {
    await bus.connect();
    for (const key of Object.keys(topics) as (keyof typeof topics)[]) {
      const subject = subjectOf(bus.names.of(key));
      const config = (await fetch(`${registryUrl}/config/${encodeURIComponent(subject)}`).then((r) => r.json())) as { compatibilityLevel: string };
      assert.equal(config.compatibilityLevel, 'BACKWARD', subject);
      const latest = (await fetch(`${registryUrl}/subjects/${encodeURIComponent(subject)}/versions/latest`).then((r) => r.json())) as { schemaType: string; schema: string };
      assert.equal(latest.schemaType, 'JSON');
      assert.deepEqual(JSON.parse(latest.schema), jsonSchemaOf(topics[key].schema));
    }
  } finally {
    await bus.disconnect();
  }
});

test('the registry refuses a backward-incompatible change and accepts a compatible one', async () => {
  const subject = `t-compat-${randomBytes(4).toString('hex')}.portcullis.verdicts-value`;
  const codec = createEventCodec({ registryUrl, topicName: () => subject.replace(/-value$/, '') });
  const v1 = z.object({ type: z.literal('VerdictIssued'), commandId: z.string(), effect: z.enum(['allow', 'block']) });
  const register = (schema: z.ZodType) =>
    codec.registry.register({ type: SchemaType.JSON, schema: JSON.stringify(jsonSchemaOf(schema)) }, { subject });
  await register(v1);
  // Adding an optional field: old events still read → accepted.
  await register(v1.extend({ reasons: z.array(z.string()).optional() }));
  // A new required field: events already in the log lack it → refused (HTTP 409 from the registry).
  await assert.rejects(register(v1.extend({ reasons: z.array(z.string()).optional(), policyVersion: z.number() })), (err: Error & { status?: number }) => {
    assert.equal(err.status, 409);
    return true;
  });
});

test('the optional fields added since (SessionOpened.tokenExpiresAt, VerdictIssued.syntaxError) register over the schemas without them', async () => {
  const added: Array<[keyof typeof topics, string, string]> = [
    ['sessionEvents', 'SessionOpened', 'tokenExpiresAt'],
    ['verdicts', 'VerdictIssued', 'syntaxError'],
  ];
  for (const [key, type, field] of added) {
    const subject = `t-compat-${randomBytes(4).toString('hex')}.portcullis.${key}-value`;
    const codec = createEventCodec({ registryUrl, topicName: () => subject.replace(/-value$/, '') });
    const current = jsonSchemaOf(topics[key].schema) as { oneOf: { properties: Record<string, unknown>; required?: string[] }[] };
    const before = structuredClone(current);
    const branch = before.oneOf.find((b) => (b.properties.type as { const?: string }).const === type)!;
    assert.ok(branch.properties[field], `${type}.${field} is in the current schema`);
    assert.ok(!branch.required?.includes(field), `${type}.${field} is optional`);
    delete branch.properties[field];
    await codec.registry.register({ type: SchemaType.JSON, schema: JSON.stringify(before) }, { subject });
    await codec.registry.register({ type: SchemaType.JSON, schema: JSON.stringify(current) }, { subject });
  }
});

test('deciding at the edge changed the contracts compatibly: decidedBy, decision and VerdictDisputed are accepted after the earlier schemas', async () => {
  const suffix = randomBytes(4).toString('hex');
  const { VerdictIssued, VerdictsTopicEvent, CommandRequested, CommandsTopicEvent } = await import('@portcullis/schemas');
  const cases = [
    { topic: 'verdicts', before: z.discriminatedUnion('type', [VerdictIssued.omit({ decidedBy: true })]), after: VerdictsTopicEvent },
    { topic: 'commands', before: z.discriminatedUnion('type', [CommandRequested.omit({ decision: true })]), after: CommandsTopicEvent },
  ];
  for (const { topic, before, after } of cases) {
    const subject = `t-edge-${suffix}.portcullis.${topic}-value`;
    const codec = createEventCodec({ registryUrl, topicName: () => subject.replace(/-value$/, '') });
    const register = (schema: z.ZodType) => codec.registry.register({ type: SchemaType.JSON, schema: JSON.stringify(jsonSchemaOf(schema)) }, { subject });
    const first = await register(before);
    const second = await register(after);
    assert.notEqual(first.id, second.id, `${topic}: a new version, accepted under BACKWARD`);
  }
});
