import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandRequested, jsonSchemaOf, topics, VerdictIssued } from '../src/index.ts';

const base = {
  eventId: '0190a6e4-8b1c-7c3d-9e2f-0a1b2c3d4e5f', occurredAt: '2026-11-25T18:00:00.000Z', sessionId: 's-1', seq: 1, digest: 'a'.repeat(64),
  commandId: '0190a6e4-8b1c-7c3d-9e2f-0a1b2c3d4e60',
  identity: { subject: 'ci-deploy', issuer: 'https://idp.example', kind: 'service', groups: ['ci'] },
  resource: { name: 'orders-db', kind: 'postgres', tags: ['prod'] },
};

test('CommandRequested accepts sql, shell and http commands and rejects unknown kinds', () => {
  for (const command of [
    { kind: 'sql', text: 'SELECT 1' },
    { kind: 'shell', commandLine: 'ls -l', channel: 'exec' },
    { kind: 'http', method: 'GET', path: '/api/v1/pods', bodySize: 0 },
  ]) {
    const parsed = CommandRequested.safeParse({ ...base, type: 'CommandRequested', protocol: 'postgres', command });
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  }
  const bad = CommandRequested.safeParse({ ...base, type: 'CommandRequested', protocol: 'postgres', command: { kind: 'telnet' } });
  assert.equal(bad.success, false);
});

test('VerdictIssued requires a known effect', () => {
  const v = { type: 'VerdictIssued', eventId: base.eventId, occurredAt: base.occurredAt, sessionId: 's', commandId: base.commandId, ruleIds: [], reasons: [], policyVersion: 1 };
  assert.ok(VerdictIssued.safeParse({ ...v, effect: 'hold' }).success);
  assert.equal(VerdictIssued.safeParse({ ...v, effect: 'maybe' }).success, false);
});

test('each topic has one JSON Schema: a oneOf over its event types', () => {
  for (const t of Object.values(topics)) {
    const schema = jsonSchemaOf(t.schema) as { oneOf?: { properties: { type: { const: string } } }[] };
    assert.ok(Array.isArray(schema.oneOf), t.name);
    for (const branch of schema.oneOf!) assert.equal(typeof branch.properties.type.const, 'string');
  }
});
