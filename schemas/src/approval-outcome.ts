import type { ApprovalsTopicEvent } from './approvals.ts';

/**
 * The approval-outcome rule, one fold for every reader of
 * portcullis.approvals (the approvals service, the PDP, the audit):
 *
 *   the FIRST outcome of an approval in log order decides it;
 *   any later outcome (a second instance expiring it, a cancel racing a grant) changes nothing.
 *
 * The PDP turns that first outcome into the command's final verdict, so the
 * command ran (or not) by it; a reader that chose differently (say by the
 * latest `occurredAt`) would contradict what happened. Approval events are
 * keyed by approvalId, so one partition holds all of an approval's events and
 * its offsets are log order.
 */
export type ApprovalOutcomeEvent = Extract<ApprovalsTopicEvent, { type: 'ApprovalGranted' | 'ApprovalDenied' | 'ApprovalExpired' | 'ApprovalCancelled' }>;
export type ApprovalOutcomeStatus = 'granted' | 'denied' | 'expired' | 'cancelled';

export interface ApprovalOutcome {
  status: ApprovalOutcomeStatus;
  eventId: string;
  at: string;
  /** Who decided: the approvers of a grant, the approver of a denial. */
  by: string[];
  comment?: string;
  /** Why a cancellation happened. */
  reason?: string;
  /** Offset of the outcome in its approvals partition, when the reader knows it (decimal string). */
  offset?: string;
}

export const isApprovalOutcome = (event: ApprovalsTopicEvent): event is ApprovalOutcomeEvent =>
  event.type === 'ApprovalGranted' || event.type === 'ApprovalDenied' || event.type === 'ApprovalExpired' || event.type === 'ApprovalCancelled';

export function outcomeOf(event: ApprovalOutcomeEvent, offset?: string): ApprovalOutcome {
  const base = { eventId: event.eventId, at: event.occurredAt, ...(offset !== undefined ? { offset } : {}) };
  switch (event.type) {
    case 'ApprovalGranted':
      return { status: 'granted', ...base, by: event.approvers, ...(event.comment ? { comment: event.comment } : {}) };
    case 'ApprovalDenied':
      return { status: 'denied', ...base, by: [event.approver], ...(event.comment ? { comment: event.comment } : {}) };
    case 'ApprovalExpired':
      return { status: 'expired', ...base, by: [] };
    case 'ApprovalCancelled':
      return { status: 'cancelled', ...base, by: [], reason: event.reason };
    default: {
      const never: never = event;
      throw new TypeError(`not an approval outcome: ${(never as { type: string }).type}`);
    }
  }
}

/**
 * Folds one event of an approval into its standing outcome. Fold in log
 * order; with offsets the fold is also right when an event is met again out
 * of order (a consumer sought back): an outcome at an earlier offset than the
 * standing one is the first and replaces it. Returns `standing` itself when
 * nothing changes.
 */
export function foldApprovalOutcome(standing: ApprovalOutcome | undefined, event: ApprovalsTopicEvent, offset?: string): ApprovalOutcome | undefined {
  if (!isApprovalOutcome(event)) return standing;
  if (standing === undefined) return outcomeOf(event, offset);
  if (offset !== undefined && standing.offset !== undefined && BigInt(offset) < BigInt(standing.offset)) return outcomeOf(event, offset);
  return standing;
}

/** Is `event` (at `offset`) the outcome that decides its approval, given what was folded so far (which may not have reached `offset` yet)? */
export function decidesApproval(standing: ApprovalOutcome | undefined, event: ApprovalOutcomeEvent, offset?: string): boolean {
  const next = foldApprovalOutcome(standing, event, offset);
  return next !== undefined && next.eventId === event.eventId && (offset === undefined || next.offset === undefined || next.offset === offset);
}
