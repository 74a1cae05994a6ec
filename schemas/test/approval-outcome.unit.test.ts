/** The approval-outcome rule every reader shares: given outcomes in log order, then the one that stands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decidesApproval, foldApprovalOutcome, type ApprovalOutcome, type ApprovalOutcomeEvent } from '../src/approval-outcome.ts';
import type { ApprovalsTopicEvent } from '../src/approvals.ts';
import { commandText } from '../src/command-text.ts';

const base = { sessionId: 's-1', approvalId: '0190a5b4-0000-7000-8000-000000000001' };
const granted: ApprovalOutcomeEvent = { type: 'ApprovalGranted', eventId: 'e-granted', occurredAt: '2025-01-01T10:00:00.000Z', ...base, approvers: ['alice'], comment: 'ok' };
// The racing expiry carries a LATER time: time must not decide, log order does.
const expired: ApprovalOutcomeEvent = { type: 'ApprovalExpired', eventId: 'e-expired', occurredAt: '2025-01-01T10:00:05.000Z', ...base };
const vote: ApprovalsTopicEvent = { type: 'ApprovalVoteRecorded', eventId: 'e-vote', occurredAt: '2025-01-01T09:59:00.000Z', ...base, approver: { subject: 'alice', issuer: 'i', kind: 'human', groups: [] } };
const fold = (events: [ApprovalsTopicEvent, string?][]): ApprovalOutcome | undefined =>
  events.reduce<ApprovalOutcome | undefined>((standing, [e, offset]) => foldApprovalOutcome(standing, e, offset), undefined);

test('given Granted then Expired in the log, the approval stands granted (the later expiry changes nothing)', () => {
  assert.deepEqual(fold([[vote], [granted], [expired]]), { status: 'granted', eventId: 'e-granted', at: granted.occurredAt, by: ['alice'], comment: 'ok' });
  assert.equal(fold([[expired], [granted]])?.status, 'expired');
});

test('with offsets, an outcome met again out of order still yields the first in the log', () => {
  // A consumer that sought back meets offset 7 (granted) after offset 9 (expired).
  assert.equal(fold([[expired, '9'], [granted, '7']])?.eventId, 'e-granted');
  assert.equal(fold([[granted, '7'], [expired, '9'], [granted, '7']])?.eventId, 'e-granted');
  // Offsets compare as numbers, not strings.
  assert.equal(fold([[expired, '10'], [granted, '9']])?.eventId, 'e-granted');
});

test('votes and requests are not outcomes; each outcome kind names who decided and why', () => {
  assert.equal(fold([[vote]]), undefined);
  assert.deepEqual(fold([[{ type: 'ApprovalDenied', eventId: 'd', occurredAt: granted.occurredAt, ...base, approver: 'dave', comment: 'no' }]]),
    { status: 'denied', eventId: 'd', at: granted.occurredAt, by: ['dave'], comment: 'no' });
  assert.deepEqual(fold([[{ type: 'ApprovalCancelled', eventId: 'c', occurredAt: granted.occurredAt, ...base, reason: 'session closed' }, '3']]),
    { status: 'cancelled', eventId: 'c', at: granted.occurredAt, by: [], reason: 'session closed', offset: '3' });
});

test('decidesApproval: only the standing outcome decides, also before the reader has folded it', () => {
  const standing = fold([[granted, '7']]);
  assert.equal(decidesApproval(standing, granted, '7'), true);
  assert.equal(decidesApproval(standing, expired, '9'), false);
  assert.equal(decidesApproval(undefined, expired, '9'), true);
});

test('commandText: the SQL, the shell command line, the HTTP request line', () => {
  assert.equal(commandText({ kind: 'sql', text: 'SELECT 1', phase: 'simple' }), 'SELECT 1');
  assert.equal(commandText({ kind: 'shell', commandLine: 'ls -la /etc', channel: 'exec' }), 'ls -la /etc');
  assert.equal(commandText({ kind: 'http', method: 'GET', path: '/api/v1/pods', query: 'limit=5', headers: {}, bodySize: 0 }), 'GET /api/v1/pods?limit=5');
  assert.equal(commandText({ kind: 'http', method: 'DELETE', path: '/x', query: '', headers: {}, bodySize: 0 }), 'DELETE /x');
});
