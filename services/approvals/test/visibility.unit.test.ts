/** canSee, given / when / then: who may list and show an approval. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Identity } from '@portcullis/schemas';
import { evolve, initialState, type KnownApproval } from '../src/decider.ts';
import { canSee } from '../src/visibility.ts';

const issuer = 'http://127.0.0.1:9400';
const person = (subject: string, groups: string[], from = issuer): Identity => ({ subject, issuer: from, kind: 'human', groups });
const requester = { subject: 'ci-deploy', issuer, kind: 'service' as const, groups: ['ci'] };

const approval = evolve(initialState, {
  type: 'ApprovalRequested', eventId: '0190a5b4-0000-7000-8000-000000000001', occurredAt: '2025-01-01T10:00:00.000Z', sessionId: 's-1',
  approvalId: '0190a5b4-0000-7000-8000-000000000002', commandId: '0190a5b4-0000-7000-8000-000000000003', identity: requester,
  resource: { name: 'orders-db', kind: 'postgres', tags: [] }, commandText: 'UPDATE orders SET x = 1 WHERE id = 1',
  ruleId: 'writes', approverGroups: ['dba', 'sre'], quorum: 1, expiresAt: '2025-01-01T11:00:00.000Z', policyVersion: 1,
}) as KnownApproval;

test('the requester, members of any approver group and auditors see it', () => {
  assert.equal(canSee(requester, approval), true);
  assert.equal(canSee(person('alice', ['dba']), approval), true);
  assert.equal(canSee(person('sam', ['developers', 'sre']), approval), true);
  assert.equal(canSee(person('carol', ['auditors']), approval), true);
  assert.equal(canSee(person('carol', ['compliance']), approval, 'compliance'), true, 'the auditor group is configurable');
});

test('nobody else: other groups, another service, the same subject from another issuer', () => {
  assert.equal(canSee(person('bob', ['developers']), approval), false);
  assert.equal(canSee(person('nobody', []), approval), false);
  assert.equal(canSee({ ...requester, subject: 'llm-agent', groups: ['agents'] }, approval), false);
  assert.equal(canSee({ ...requester, issuer: 'https://other.example.com' }, approval), false);
  assert.equal(canSee(person('carol', ['auditors']), approval, 'compliance'), false, 'auditors only when that is the auditor group');
  assert.equal(canSee(person('eve', ['DBA']), approval), false, 'group names compare exactly');
});
