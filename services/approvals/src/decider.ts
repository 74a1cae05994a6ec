/**
 * The approval of one held command, as an Emmett-style decider:
 *
 *   decide(command, state) → events     (or throws a PortcullisError)
 *   evolve(state, event)   → state
 *   initialState
 *
 * Lifecycle: pending → granted | denied | expired | cancelled. Time comes in
 * on the commands (`now`); ids and timestamps are stamped on the events by
 * the caller (see stampEvents), so decide stays pure and its tests exact.
 *
 * Double writes are harmless by construction: evolve keeps the first outcome
 * and ignores anything after it, counts each approver once, and decide
 * answers a repeat of what already happened with no events.
 */
import { foldApprovalOutcome, isApprovalOutcome, type ApprovalOutcome, type ApprovalsTopicEvent, type ApprovalRequested, type Identity } from '@portcullis/schemas';
import { PortcullisError } from '@portcullis/kit';

export type ApprovalStatus = 'pending' | 'granted' | 'denied' | 'expired' | 'cancelled';
export const APPROVAL_STATUSES = ['pending', 'granted', 'denied', 'expired', 'cancelled'] as const satisfies readonly ApprovalStatus[];

export interface Vote {
  approver: Identity;
  comment?: string;
  at: string;
}

/** The standing outcome, by the rule every reader of the log shares (schemas/src/approval-outcome.ts). */
export type Outcome = ApprovalOutcome;

export type ApprovalState =
  | { status: 'unknown' }
  | { status: ApprovalStatus; request: ApprovalRequested; votes: Vote[]; outcome?: Outcome };

export type KnownApproval = Exclude<ApprovalState, { status: 'unknown' }>;

export const initialState: ApprovalState = { status: 'unknown' };

export type ApprovalCommand =
  | { type: 'Vote'; approver: Identity; comment?: string; now: string }
  | { type: 'Deny'; approver: Identity; comment?: string; now: string }
  | { type: 'Expire'; now: string }
  | { type: 'Cancel'; reason: string; now: string }
  /** Grants an approval whose votes reached the quorum without a grant (two instances each recorded one vote). */
  | { type: 'Tally'; now: string };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event as decide produces it: everything but its eventId and occurredAt. */
export type ApprovalDecision = DistributiveOmit<Exclude<ApprovalsTopicEvent, { type: 'ApprovalRequested' }>, 'eventId' | 'occurredAt'>;

/** A stable key for a person or service across issuers. */
export const identityKey = (identity: Pick<Identity, 'subject' | 'issuer'>): string => `${identity.issuer} ${identity.subject}`;

export const isClosed = (state: ApprovalState): boolean => state.status !== 'unknown' && state.status !== 'pending';
export const isDue = (state: KnownApproval, now: string): boolean => Date.parse(now) >= Date.parse(state.request.expiresAt);

export function decide(command: ApprovalCommand, state: ApprovalState): ApprovalDecision[] {
  if (state.status === 'unknown') throw new PortcullisError('PCL_ERR_NOT_FOUND', 'no such approval', { details: { reason: 'unknown_approval' } });
  const { request } = state;
  const base = { sessionId: request.sessionId, approvalId: request.approvalId };

  switch (command.type) {
    case 'Vote': {
      const key = identityKey(command.approver);
      if (state.status === 'granted' && state.votes.some((v) => identityKey(v.approver) === key)) return [];
      refuseClosed(state, 'approve');
      checkApprover(state, command.approver, 'approve');
      refuseExpired(state, command.now);
      if (state.votes.some((v) => identityKey(v.approver) === key)) return [];
      const votes = [...state.votes.map((v) => v.approver), command.approver];
      const voted: ApprovalDecision = { type: 'ApprovalVoteRecorded', ...base, approver: command.approver, ...(command.comment ? { comment: command.comment } : {}) };
      if (distinctCount(votes) < request.quorum) return [voted];
      return [voted, { type: 'ApprovalGranted', ...base, approvers: distinctSubjects(votes), ...(command.comment ? { comment: command.comment } : {}) }];
    }
    case 'Deny': {
      if (state.status === 'denied' && state.outcome?.by[0] === command.approver.subject) return [];
      refuseClosed(state, 'deny');
      checkApprover(state, command.approver, 'deny');
      refuseExpired(state, command.now);
      return [{ type: 'ApprovalDenied', ...base, approver: command.approver.subject, ...(command.comment ? { comment: command.comment } : {}) }];
    }
    case 'Expire':
      if (state.status !== 'pending' || !isDue(state, command.now)) return [];
      return [{ type: 'ApprovalExpired', ...base }];
    case 'Cancel':
      if (state.status !== 'pending') return [];
      return [{ type: 'ApprovalCancelled', ...base, reason: command.reason }];
    case 'Tally': {
      if (state.status !== 'pending') return [];
      const voters = state.votes.map((v) => v.approver);
      if (distinctCount(voters) < request.quorum) return [];
      return [{ type: 'ApprovalGranted', ...base, approvers: distinctSubjects(voters) }];
    }
    default: {
      const never: never = command;
      throw new Error(`unhandled approval command ${(never as { type: string }).type}`);
    }
  }
}

export function evolve(state: ApprovalState, event: ApprovalsTopicEvent): ApprovalState {
  if (event.type === 'ApprovalRequested') {
    // A replayed request never resets an approval already under way.
    return state.status === 'unknown' ? { status: 'pending', request: event, votes: [] } : state;
  }
  // Outcomes for an approval we never saw requested change nothing; of the others the first in the log decides.
  if (state.status === 'unknown') return state;
  if (isApprovalOutcome(event)) {
    const outcome = foldApprovalOutcome(state.outcome, event);
    return outcome === state.outcome || !outcome ? state : { ...state, status: outcome.status, outcome };
  }
  // A vote after the outcome changes nothing.
  if (state.status !== 'pending') return state;
  const key = identityKey(event.approver);
  if (state.votes.some((v) => identityKey(v.approver) === key)) return state;
  return { ...state, votes: [...state.votes, { approver: event.approver, at: event.occurredAt, ...(event.comment ? { comment: event.comment } : {}) }] };
}

/** Gives decided events their envelope: an id and the time of the command. */
export function stampEvents(decisions: ApprovalDecision[], now: string, newId: () => string): Exclude<ApprovalsTopicEvent, { type: 'ApprovalRequested' }>[] {
  return decisions.map((d) => ({ ...d, eventId: newId(), occurredAt: now }) as Exclude<ApprovalsTopicEvent, { type: 'ApprovalRequested' }>);
}

function refuseClosed(state: KnownApproval, verb: string): void {
  if (state.status === 'pending') return;
  throw new PortcullisError('PCL_ERR_CONFLICT', `cannot ${verb}: approval ${state.request.approvalId} is already ${state.status}`, {
    details: { reason: 'closed', status: state.status },
  });
}

function refuseExpired(state: KnownApproval, now: string): void {
  if (!isDue(state, now)) return;
  throw new PortcullisError('PCL_ERR_CONFLICT', `approval ${state.request.approvalId} expired at ${state.request.expiresAt}`, {
    details: { reason: 'expired', status: 'expired' },
  });
}

function checkApprover(state: KnownApproval, approver: Identity, verb: string): void {
  const { request } = state;
  if (identityKey(approver) === identityKey(request.identity)) {
    throw new PortcullisError('PCL_ERR_FORBIDDEN', `${approver.subject} requested this command and cannot ${verb} it`, { details: { reason: 'self_approval' } });
  }
  if (!approver.groups.some((g) => request.approverGroups.includes(g))) {
    throw new PortcullisError('PCL_ERR_FORBIDDEN', `${approver.subject} cannot ${verb} this approval: it needs a member of ${request.approverGroups.join(' or ')}`, {
      details: { reason: 'not_an_approver', approverGroups: request.approverGroups },
    });
  }
}

const distinctCount = (identities: Identity[]): number => new Set(identities.map(identityKey)).size;
const distinctSubjects = (identities: Identity[]): string[] => [...new Set(identities.map((i) => i.subject))];
