/** The revocation log's rows: given a revocation event, then the row the audit keeps. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { revocationLogRow } from '../src/revocations/projection.ts';

const iss = 'https://idp.example.com';
const env = { eventId: '0190a6e4-8b1c-7c3d-9e2f-0a1b2c3d4e5f', occurredAt: '2026-12-01T11:00:00.000Z', sessionId: 'admin-1' };
const erin = { subject: 'erin', issuer: iss };

test('a restore keeps who lifted it and when the lifted revocation took effect', () => {
  const row = revocationLogRow({ type: 'IdentityRestored', ...env, target: { kind: 'client', issuer: iss, clientId: 'ci' }, revoked: { at: '2026-12-01T10:00:00.000Z', by: erin, reason: 'leak' }, restoredBy: erin, reason: 'rotated' });
  assert.deepEqual(row, {
    event_id: env.eventId, type: 'IdentityRestored', at: env.occurredAt, target_kind: 'client', issuer: iss, name: 'ci', session_id: null,
    reason: 'rotated', actor_subject: 'erin', actor_issuer: iss, revoked_at: '2026-12-01T10:00:00.000Z',
  });
});

test('a revocation names its target; an admin kill names the session', () => {
  assert.equal(revocationLogRow({ type: 'IdentityRevoked', ...env, target: { kind: 'group', issuer: iss, group: 'dba' }, reason: 'audit', revokedBy: erin }).name, 'dba');
  const kill = revocationLogRow({ type: 'SessionTerminated', ...env, sessionId: 's-9', reason: 'odd', terminatedBy: erin });
  assert.equal(kill.session_id, 's-9');
  assert.equal(kill.target_kind, null);
});
