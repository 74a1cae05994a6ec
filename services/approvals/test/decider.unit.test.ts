/** The approval decider, given / when / then: given these events, when this command, then these events or this error. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApprovalRequested, ApprovalsTopicEvent, Identity } from '@portcullis/schemas';
import { PortcullisError } from '@portcullis/kit';
import { decide, evolve, initialState, stampEvents, type ApprovalCommand, type ApprovalDecision, type ApprovalState } from '../src/decider.ts';

const issuer = 'http://127.0.0.1:9400';
const approvalId = '0190a5b4-0000-7000-8000-000000000001';
const sessionId = 's-1';
const person = (subject: string, groups: string[]): Identity => ({ subject, issuer, kind: 'human', groups });
const alice = person('alice', ['dba', 'approvers']);
const dave = person('dave', ['dba', 'approvers']);
const bob = person('bob', ['developers']);
const requesterDba = person('erin', ['dba']);

let counter = 0;
const id = (): string => `0190a5b4-0000-7000-8000-${String(++counter).padStart(12, '0')}`;

function requested(overrides: Partial<ApprovalRequested> = {}): ApprovalRequested {
  return {
    type: 'ApprovalRequested', eventId: id(), occurredAt: '2025-01-01T10:00:00.000Z', sessionId, approvalId,
    commandId: '0190a5b4-0000-7000-8000-0000000000ff', identity: requesterDba,
    resource: { name: 'orders-db', kind: 'postgres', tags: ['production'] }, commandText: 'ALTER TABLE orders ADD note text',
    ruleId: 'dba-destructive-production', approverGroups: ['dba'], quorum: 1, expiresAt: '2025-01-01T11:00:00.000Z', policyVersion: 1,
    ...overrides,
  };
}
const before = '2025-01-01T10:30:00.000Z';
const after = '2025-01-01T11:00:00.001Z';
const base = { sessionId, approvalId };

/** given events → when command → the events decided (or the error thrown). */
function given(...events: (ApprovalsTopicEvent | ApprovalDecision)[]) {
  const state = events
    .map((e) => ('eventId' in e ? e : stampEvents([e], before, id)[0]!))
    .reduce<ApprovalState>(evolve, initialState);
  return {
    state,
    when: (command: ApprovalCommand) => ({
      then: (expected: ApprovalDecision[]) => assert.deepEqual(decide(command, state), expected),
      thenThrows: (code: string, reason: string, message?: RegExp) =>
        assert.throws(() => decide(command, state), (err: unknown) => {
          assert.ok(err instanceof PortcullisError);
          assert.equal(err.code, code);
          assert.equal(err.details?.reason, reason);
          if (message) assert.match(err.message, message);
          return true;
        }),
    }),
  };
}

describe('approval decider', () => {
  it('a member of an approver group grants a quorum-1 approval', () => {
    given(requested()).when({ type: 'Vote', approver: alice, comment: 'ok', now: before }).then([
      { type: 'ApprovalVoteRecorded', ...base, approver: alice, comment: 'ok' },
      { type: 'ApprovalGranted', ...base, approvers: ['alice'], comment: 'ok' },
    ]);
  });

  it('quorum 2 needs two distinct approvers', () => {
    const req = requested({ quorum: 2 });
    given(req).when({ type: 'Vote', approver: alice, now: before }).then([{ type: 'ApprovalVoteRecorded', ...base, approver: alice }]);
    const aliceVoted = { type: 'ApprovalVoteRecorded' as const, ...base, approver: alice };
    given(req, aliceVoted).when({ type: 'Vote', approver: alice, now: before }).then([]);
    given(req, aliceVoted).when({ type: 'Vote', approver: dave, comment: 'second', now: before }).then([
      { type: 'ApprovalVoteRecorded', ...base, approver: dave, comment: 'second' },
      { type: 'ApprovalGranted', ...base, approvers: ['alice', 'dave'], comment: 'second' },
    ]);
  });

  it('the same subject from another issuer is another person', () => {
    const otherAlice = { ...alice, issuer: 'https://login.example.com' };
    given(requested({ quorum: 2 }), { type: 'ApprovalVoteRecorded', ...base, approver: alice })
      .when({ type: 'Vote', approver: otherAlice, now: before })
      .then([{ type: 'ApprovalVoteRecorded', ...base, approver: otherAlice }, { type: 'ApprovalGranted', ...base, approvers: ['alice'] }]);
  });

  it('refuses self-approval, even by a member of the approver group', () => {
    given(requested()).when({ type: 'Vote', approver: requesterDba, now: before }).thenThrows('PCL_ERR_FORBIDDEN', 'self_approval', /erin requested this command/);
    given(requested()).when({ type: 'Deny', approver: requesterDba, now: before }).thenThrows('PCL_ERR_FORBIDDEN', 'self_approval');
  });

  it('refuses a non-member', () => {
    given(requested()).when({ type: 'Vote', approver: bob, now: before }).thenThrows('PCL_ERR_FORBIDDEN', 'not_an_approver', /member of dba/);
    given(requested()).when({ type: 'Deny', approver: bob, now: before }).thenThrows('PCL_ERR_FORBIDDEN', 'not_an_approver');
  });

  it('one denial denies, even after a vote for', () => {
    given(requested({ quorum: 2 }), { type: 'ApprovalVoteRecorded', ...base, approver: alice })
      .when({ type: 'Deny', approver: dave, comment: 'not during the sale', now: before })
      .then([{ type: 'ApprovalDenied', ...base, approver: 'dave', comment: 'not during the sale' }]);
  });

  it('a vote or denial after the approval closed is a conflict that names the state', () => {
    const granted = [requested(), { type: 'ApprovalVoteRecorded' as const, ...base, approver: alice }, { type: 'ApprovalGranted' as const, ...base, approvers: ['alice'] }];
    given(...granted).when({ type: 'Vote', approver: dave, now: before }).thenThrows('PCL_ERR_CONFLICT', 'closed', /already granted/);
    given(...granted).when({ type: 'Deny', approver: dave, now: before }).thenThrows('PCL_ERR_CONFLICT', 'closed', /already granted/);
    given(requested(), { type: 'ApprovalDenied', ...base, approver: 'dave' }).when({ type: 'Vote', approver: alice, now: before }).thenThrows('PCL_ERR_CONFLICT', 'closed', /already denied/);
    given(requested(), { type: 'ApprovalExpired', ...base }).when({ type: 'Vote', approver: alice, now: after }).thenThrows('PCL_ERR_CONFLICT', 'closed', /already expired/);
    given(requested(), { type: 'ApprovalCancelled', ...base, reason: 'client disconnected' }).when({ type: 'Deny', approver: alice, now: before }).thenThrows('PCL_ERR_CONFLICT', 'closed', /already cancelled/);
  });

  it('repeating a decision is idempotent: no new events', () => {
    given(requested(), { type: 'ApprovalVoteRecorded', ...base, approver: alice }, { type: 'ApprovalGranted', ...base, approvers: ['alice'] })
      .when({ type: 'Vote', approver: alice, now: before }).then([]);
    given(requested(), { type: 'ApprovalDenied', ...base, approver: 'dave' }).when({ type: 'Deny', approver: dave, now: before }).then([]);
  });

  it('expires at expiresAt, not before, and only once', () => {
    given(requested()).when({ type: 'Expire', now: before }).then([]);
    given(requested()).when({ type: 'Expire', now: after }).then([{ type: 'ApprovalExpired', ...base }]);
    given(requested(), { type: 'ApprovalExpired', ...base }).when({ type: 'Expire', now: after }).then([]);
    given(requested(), { type: 'ApprovalGranted', ...base, approvers: ['alice'] }).when({ type: 'Expire', now: after }).then([]);
  });

  it('refuses a vote after expiresAt even before the expiry is recorded', () => {
    given(requested()).when({ type: 'Vote', approver: alice, now: after }).thenThrows('PCL_ERR_CONFLICT', 'expired');
  });

  it('cancels a pending approval; a cancel after the outcome changes nothing', () => {
    given(requested()).when({ type: 'Cancel', reason: 'client disconnected', now: before }).then([{ type: 'ApprovalCancelled', ...base, reason: 'client disconnected' }]);
    given(requested(), { type: 'ApprovalDenied', ...base, approver: 'dave' }).when({ type: 'Cancel', reason: 'x', now: before }).then([]);
  });

  it('an unknown approval is not found', () => {
    given().when({ type: 'Vote', approver: alice, now: before }).thenThrows('PCL_ERR_NOT_FOUND', 'unknown_approval');
  });

  it('tallies votes that reached the quorum without a grant (two writers)', () => {
    const votes = [{ type: 'ApprovalVoteRecorded' as const, ...base, approver: alice }, { type: 'ApprovalVoteRecorded' as const, ...base, approver: dave }];
    given(requested({ quorum: 2 }), ...votes).when({ type: 'Tally', now: before }).then([{ type: 'ApprovalGranted', ...base, approvers: ['alice', 'dave'] }]);
    given(requested({ quorum: 2 }), votes[0]!).when({ type: 'Tally', now: before }).then([]);
  });

  it('evolve keeps the first outcome, counts an approver once and ignores a replayed request', () => {
    const { state } = given(
      requested({ quorum: 3 }),
      { type: 'ApprovalVoteRecorded', ...base, approver: alice },
      { type: 'ApprovalVoteRecorded', ...base, approver: alice },
      requested({ quorum: 3 }),
      { type: 'ApprovalDenied', ...base, approver: 'dave', comment: 'no' },
      { type: 'ApprovalExpired', ...base },
      { type: 'ApprovalGranted', ...base, approvers: ['alice'] },
    );
    assert.ok(state.status === 'denied');
    assert.equal(state.votes.length, 1);
    assert.deepEqual(state.outcome?.by, ['dave']);
    assert.equal(state.outcome?.comment, 'no');
  });
});

describe('the first outcome in the log decides (the rule the PDP and the audit share)', () => {
  it('given granted, then a racing expiry with a later time: the approval stays granted', () => {
    const grant = stampEvents([{ type: 'ApprovalGranted', ...base, approvers: ['alice'] }], before, id)[0]!;
    const expiry = stampEvents([{ type: 'ApprovalExpired', ...base }], after, id)[0]!;
    const state = [requested(), grant, expiry].reduce<ApprovalState>(evolve, initialState);
    assert.equal(state.status, 'granted');
    const outcome = 'outcome' in state ? state.outcome : undefined;
    assert.deepEqual([outcome?.eventId, outcome?.by], [grant.eventId, ['alice']]);
  });
});
