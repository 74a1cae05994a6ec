import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createPool, createTestBus, createIdentityVerifier, schemaIdent, silentLogger } from '@portcullis/kit';
import { issueHumanToken } from '@portcullis/infra';
import { buildApp } from '@portcullis/audit-projection';
import { postgresUrl } from '@portcullis/infra';
import { newId, SessionChain } from '@portcullis/schemas';
import { randomBytes } from 'node:crypto';
import { replayRoutes, startReplayProjection } from '../src/index.ts';

const pool = createPool(postgresUrl('portcullis'), 2);
const schema = `t_replay_${randomBytes(4).toString('hex')}`;
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(schema)} CASCADE`);
  await pool.end();
});

const ISSUER = 'http://127.0.0.1:9400';
const identity = { subject: 'ci-deploy', issuer: ISSUER, kind: 'service' as const, groups: ['ci'] };
const at = (s: number) => new Date(Date.parse('2025-02-01T09:00:00Z') + s * 1000).toISOString();

test('a SQL session replays like psql with the decisions marked; an SSH session gives an asciicast', async () => {
  const bus = createTestBus('replay');
  await bus.connect();
  cleanup.push(() => bus.disconnect());
  const projection = await startReplayProjection({ bus, pool, logger: silentLogger(), schema });
  cleanup.push(() => projection.stop());
  const chain = new SessionChain();
  const sessionId = `s-${newId()}`;
  const resource = { name: 'orders-db', kind: 'postgres' as const, tags: [] };
  const env = (n: number) => ({ eventId: newId(), occurredAt: at(n), sessionId });
  const read = chain.next({ type: 'CommandRequested' as const, ...env(1), commandId: newId(), identity, resource, protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text: 'SELECT id, email FROM customers WHERE id = $1', phase: 'bind' as const, parameters: ['7'] } });
  const drop = chain.next({ type: 'CommandRequested' as const, ...env(3), commandId: newId(), identity, resource, protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text: 'DROP TABLE orders', phase: 'simple' as const } });
  const ssh = new SessionChain();
  const sshId = `s-${newId()}`;
  // Out of order on purpose: verdicts before commands, the close before the output.
  await bus.publish('verdicts', { type: 'VerdictIssued', ...env(4), commandId: drop.commandId, effect: 'block', ruleIds: ['automation-no-destructive'], reasons: ['automation must not run destructive statements'], policyVersion: 1, final: true, classes: ['ddl'] });
  await bus.publish('verdicts', { type: 'VerdictIssued', ...env(2), commandId: read.commandId, effect: 'mask', ruleIds: ['pii-masked'], reasons: ['automation never sees personal data'], policyVersion: 1, final: true, classes: ['read'] });
  await bus.publish('sessionEvents', chain.next({ type: 'SessionOpened' as const, ...env(0), identity, resource, protocol: 'postgres' as const, clientAddress: '127.0.0.1:5000' }) as never);
  await bus.publish('commands', read);
  await bus.publish('commands', drop);
  await bus.publish('sessionEvents', chain.next({ type: 'OutputRecorded' as const, ...env(2), commandId: read.commandId, format: 'rows' as const, columns: ['id', 'email'], rows: [['7', 'c***@example.test']], truncated: false }) as never);
  await bus.publish('sessionEvents', chain.next({ type: 'CommandCompleted' as const, ...env(2), commandId: read.commandId, status: 'executed' as const, rows: 1, tag: 'SELECT 1', durationMs: 2 }) as never);
  await bus.publish('sessionEvents', chain.next({ type: 'CommandCompleted' as const, ...env(4), commandId: drop.commandId, status: 'refused' as const, durationMs: 0 }) as never);
  await bus.publish('sessionEvents', ssh.next({ type: 'SessionOpened' as const, eventId: newId(), occurredAt: at(0), sessionId: sshId, identity, resource: { name: 'web-1', kind: 'ssh' as const, tags: [] }, protocol: 'ssh' as const, clientAddress: '127.0.0.1:5001' }) as never);
  await bus.publish('sessionEvents', ssh.next({ type: 'OutputRecorded' as const, eventId: newId(), occurredAt: at(1), sessionId: sshId, format: 'stream' as const, stream: [[0.1, 'o', '$ '], [0.5, 'i', 'ls\r'], [0.6, 'o', 'a.txt\r\n']], truncated: false }) as never);
  await projection.catchUp();
  await projection.catchUp();

  const app = await buildApp({ pool, verifier: createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] }), schema, routes: [replayRoutes({ pool, schema })] });
  cleanup.push(() => app.close());
  const auth = { authorization: `Bearer ${await issueHumanToken(ISSUER, 'carol')}` };
  const text = await app.inject({ url: `/sessions/${sessionId}/replay`, headers: { ...auth, accept: 'text/plain' } });
  assert.equal(text.statusCode, 200, text.body);
  assert.equal(text.body.split('\n').slice(2).join('\n'), [
    '-- portcullis: MASKED by rule pii-masked: automation never sees personal data',
    'orders-db=> SELECT id, email FROM customers WHERE id = $1;',
    "-- parameters: $1 = '7'",
    ' id |       email',
    '----+-------------------',
    '  7 | c***@example.test',
    '(1 row)',
    '',
    '-- portcullis: BLOCKED by rule automation-no-destructive: automation must not run destructive statements',
    'orders-db=> DROP TABLE orders;',
    '-- portcullis: not run (refused by the gateway)',
    '',
    '',
  ].join('\n'));
  const json = await app.inject({ url: `/sessions/${sessionId}/replay`, headers: auth });
  assert.deepEqual(json.json().entries.map((e: { verdict: { effect: string } }) => e.verdict.effect), ['mask', 'block']);
  const cast = await app.inject({ url: `/sessions/${sshId}/replay.cast`, headers: auth });
  assert.equal(cast.statusCode, 200, cast.body);
  const [header, ...lines] = cast.body.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(header.version, 2);
  assert.deepEqual(lines, [[0.1, 'o', '$ '], [0.5, 'i', 'ls\r'], [0.6, 'o', 'a.txt\r\n']]);
  assert.equal((await app.inject({ url: `/sessions/${sessionId}/replay.cast`, headers: auth })).statusCode, 404);
  assert.equal((await app.inject({ url: `/sessions/${sessionId}/replay` })).statusCode, 401);
});
