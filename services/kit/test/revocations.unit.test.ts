/** The revocation list as a fold, and who it refuses (given events, when a credential is checked, then the answer). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { GatewayHeartbeat, Identity, RevocationsTopicEvent, RevocationTarget } from '@portcullis/schemas';
import { evolveRevocations, initialRevocationState, liveSessionsOf, refusalOf, type RevocationState } from '../src/index.ts';

const iss = 'https://idp.example.com';
const admin = { subject: 'erin', issuer: iss };
const alice: Identity = { subject: 'alice', issuer: iss, kind: 'human', groups: ['dba'], clientId: 'cli' };
const ci: Identity = { subject: 'ci-deploy', issuer: iss, kind: 'service', groups: ['ci'], clientId: 'ci-deploy' };
const env = (at: string) => ({ eventId: '0190a6e4-8b1c-7c3d-9e2f-0a1b2c3d4e5f', occurredAt: at, sessionId: 'admin-1' });

const given = (...events: RevocationsTopicEvent[]): RevocationState => events.reduce(evolveRevocations, initialRevocationState);
const revoked = (target: RevocationTarget, at = '2026-12-01T10:00:00.500Z'): RevocationsTopicEvent =>
  ({ type: 'IdentityRevoked', ...env(at), target, reason: 'laptop stolen', revokedBy: admin });

describe('refusalOf', () => {
  test('no revocation: every credential may be used', () => {
    assert.equal(refusalOf(initialRevocationState, { identity: alice }), undefined);
  });

  test('a revoked identity is refused with who revoked it, when and why; others are not', () => {
    const state = given(revoked({ kind: 'identity', issuer: iss, subject: 'alice' }));
    assert.equal(refusalOf(state, { identity: alice }), 'access of identity alice was revoked by erin at 2026-12-01T10:00:00.500Z: laptop stolen');
    assert.equal(refusalOf(state, { identity: ci }), undefined);
  });

  test('the same subject at another issuer is another identity', () => {
    const state = given(revoked({ kind: 'identity', issuer: 'https://other.example.com', subject: 'alice' }));
    assert.equal(refusalOf(state, { identity: alice }), undefined);
  });

  test('a revoked group refuses its members, a revoked client every token issued to it', () => {
    assert.match(refusalOf(given(revoked({ kind: 'group', issuer: iss, group: 'dba' })), { identity: alice }) ?? '', /group dba/);
    assert.equal(refusalOf(given(revoked({ kind: 'group', issuer: iss, group: 'dba' })), { identity: ci }), undefined);
    assert.match(refusalOf(given(revoked({ kind: 'client', issuer: iss, clientId: 'ci-deploy' })), { identity: ci }) ?? '', /client ci-deploy/);
    assert.equal(refusalOf(given(revoked({ kind: 'client', issuer: iss, clientId: 'ci-deploy' })), { identity: { ...alice, clientId: undefined } as Identity }), undefined);
  });

  test('after a restore, tokens issued before the revocation (or in its second, iat has whole seconds) stay refused; later ones pass', () => {
    const target = { kind: 'identity' as const, issuer: iss, subject: 'alice' };
    const state = given(revoked(target), {
      type: 'IdentityRestored', ...env('2026-12-01T11:00:00.000Z'), target,
      revoked: { at: '2026-12-01T10:00:00.500Z', by: admin, reason: 'laptop stolen' }, restoredBy: admin,
    });
    assert.match(refusalOf(state, { identity: alice, issuedAt: '2026-12-01T09:59:00.000Z' }) ?? '', /issued at .* before identity alice was revoked/);
    assert.match(refusalOf(state, { identity: alice, issuedAt: '2026-12-01T10:00:00.000Z' }) ?? '', /before identity alice was revoked/);
    assert.equal(refusalOf(state, { identity: alice, issuedAt: '2026-12-01T10:00:01.000Z' }), undefined);
    assert.match(refusalOf(state, { identity: alice }) ?? '', /does not say when it was issued/);
  });

  test('a restore read without its revocation (compacted away) still knows when, by whom and why', () => {
    const target = { kind: 'client' as const, issuer: iss, clientId: 'ci-deploy' };
    const state = given({ type: 'IdentityRestored', ...env('2026-12-01T11:00:00.000Z'), target, revoked: { at: '2026-12-01T10:00:00.000Z', by: admin, reason: 'leaked' }, restoredBy: admin });
    const entry = [...state.entries.values()][0]!;
    assert.equal(entry.revokedBy.subject, 'erin');
    assert.equal(entry.reason, 'leaked');
    assert.ok(refusalOf(state, { identity: ci, issuedAt: '2026-12-01T09:00:00.000Z' }));
  });

  test('a revocation after a restore is in force again', () => {
    const target = { kind: 'identity' as const, issuer: iss, subject: 'alice' };
    const state = given(revoked(target), { type: 'IdentityRestored', ...env('2026-12-01T11:00:00.000Z'), target, revoked: { at: '2026-12-01T10:00:00.500Z', by: admin, reason: 'x' }, restoredBy: admin }, revoked(target, '2026-12-01T12:00:00.000Z'));
    assert.match(refusalOf(state, { identity: alice, issuedAt: '2026-12-01T11:30:00.000Z' }) ?? '', /was revoked by erin at 2026-12-01T12:00:00.000Z/);
  });

  test('a SessionTerminated is remembered by session, it refuses no credential', () => {
    const state = given({ type: 'SessionTerminated', ...env('2026-12-01T10:00:00.000Z'), sessionId: 's-9', reason: 'suspicious', terminatedBy: admin });
    assert.equal(state.terminated.get('s-9')?.reason, 'suspicious');
    assert.equal(refusalOf(state, { identity: alice }), undefined);
  });
});

describe('liveSessionsOf', () => {
  const beat = (instance: string, at: string, sessionIds: string[], stopping = false): GatewayHeartbeat => ({
    type: 'GatewayHeartbeat', ...env(at), sessionId: instance, instance, service: 'proxy-postgres', intervalMs: 5000, stopping,
    sessions: sessionIds.map((sessionId) => ({ sessionId, identity: alice, resource: { name: 'db', kind: 'postgres', tags: [] }, protocol: 'postgres', openedAt: '2026-12-01T09:00:00.000Z' })),
  });
  const now = Date.parse('2026-12-01T10:00:00.000Z');

  test('sessions of instances that beat within three intervals are live; a silent (crashed) or stopped instance serves none', () => {
    const live = liveSessionsOf([
      beat('a', '2026-12-01T09:59:50.000Z', ['s1', 's2']),
      beat('crashed', '2026-12-01T09:59:40.000Z', ['s3']),
      beat('stopped', '2026-12-01T09:59:59.000Z', ['s4'], true),
    ], now);
    assert.deepEqual(live.map((s) => [s.sessionId, s.instance]), [['s1', 'a'], ['s2', 'a']]);
  });
});
