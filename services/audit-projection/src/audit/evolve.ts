/**
 * The audit view's evolve functions: (row | undefined, event) → row. Pure.
 *
 * Events of one session arrive over several topics in no particular order, so
 * every field is filled by whichever event carries it, and where two events
 * compete (two verdicts for one command: the provisional hold and the final
 * one) the winner is chosen by the events themselves — final before
 * provisional, then later `occurredAt`, then larger event id — never by
 * arrival order. An approval's outcome follows the rule every reader of the
 * log shares (foldApprovalOutcome): the first outcome in log order decides.
 * Applying an event twice changes nothing.
 */
import {
  commandText, foldApprovalOutcome, type ApprovalOutcome, type ApprovalsTopicEvent, type CommandRequested, type Identity, type SessionTopicEvent,
  type VerdictDisputed, type VerdictIssued,
} from '@portcullis/schemas';
import type { ApprovalRow, CommandRow, IdentityRow, SessionRow } from './rows.ts';

/**
 * Orders two instants: negative when `a` is earlier. Every event's time is
 * compared several times per batch, so two UTC timestamps of one layout
 * (same length, both ending in Z: the contracts' ISO 8601 has four-digit
 * years) are compared as text, which orders them as time; anything else is parsed.
 */
export function compareInstants(a: string, b: string): number {
  if (a.length === b.length && a.endsWith('Z') && b.endsWith('Z')) return a < b ? -1 : a > b ? 1 : 0;
  return Date.parse(a) - Date.parse(b);
}
export const earlier = (a: string | null, b: string): string => (a === null || compareInstants(b, a) < 0 ? b : a);
export const later = (a: string | null, b: string): string => (a === null || compareInstants(b, a) > 0 ? b : a);
/** Does (at, id) come after (at0, id0)? Ties on time broken by id so the outcome is order-independent. */
const supersedes = (at: string, id: string, at0: string | null, id0: string | null): boolean => {
  if (at0 === null) return true;
  const order = compareInstants(at, at0);
  return order > 0 || (order === 0 && id > (id0 ?? ''));
};

export function emptySession(sessionId: string): SessionRow {
  return {
    session_id: sessionId, protocol: null, identity_subject: null, identity_issuer: null, identity_kind: null, identity_groups: null,
    identity_name: null, resource: null, resource_kind: null, resource_tags: null, client_address: null, application_name: null,
    reason: null, started_at: null, opened_at: null, closed_at: null, close_reason: null, duration_ms: null, last_event_at: null,
    last_seq: 0, verified_seq: 0, verified_digest: null, integrity: 'ok', missing_seq: null, tampered_seq: null, tampered_event_id: null,
    disputed: false,
  };
}

export type SessionContributor = SessionTopicEvent | CommandRequested | VerdictIssued | VerdictDisputed;

export function evolveSession(row: SessionRow | undefined, event: SessionContributor): SessionRow {
  const s = { ...(row ?? emptySession(event.sessionId)) };
  applyToSession(s, event);
  return s;
}

/**
 * evolveSession on a row the caller owns (changed in place): foldAuditBatch
 * copies a row once per batch instead of once per event (the copies were a
 * large part of the projection's garbage).
 */
export function applyToSession(s: SessionRow, event: SessionContributor): void {
  s.started_at = earlier(s.started_at, event.occurredAt);
  s.last_event_at = later(s.last_event_at, event.occurredAt);
  if ('seq' in event && event.seq > s.last_seq) s.last_seq = event.seq;
  switch (event.type) {
    case 'SessionOpened':
      Object.assign(s, identityColumns(event.identity), {
        protocol: event.protocol, resource: event.resource.name, resource_kind: event.resource.kind, resource_tags: event.resource.tags,
        client_address: event.clientAddress, application_name: event.applicationName ?? null, reason: event.reason ?? null, opened_at: event.occurredAt,
      });
      break;
    case 'CommandRequested':
      // A session whose SessionOpened is missing (or not here yet) still says who and where.
      if (s.opened_at === null) {
        Object.assign(s, identityColumns(event.identity), {
          protocol: event.protocol, resource: event.resource.name, resource_kind: event.resource.kind, resource_tags: event.resource.tags,
        });
      }
      break;
    case 'SessionClosed':
      s.closed_at = event.occurredAt;
      s.close_reason = event.reason ?? null;
      s.duration_ms = event.durationMs;
      break;
    case 'VerdictDisputed':
      // A session with a disputed verdict stays flagged: the dispute is about what already ran or was refused in it.
      s.disputed = true;
      break;
    case 'CommandCompleted':
    case 'OutputRecorded':
    case 'VerdictIssued':
      break;
    default:
      assertNever(event);
  }
}

function identityColumns(identity: Identity): Pick<SessionRow, 'identity_subject' | 'identity_issuer' | 'identity_kind' | 'identity_groups' | 'identity_name'> {
  return {
    identity_subject: identity.subject, identity_issuer: identity.issuer, identity_kind: identity.kind,
    identity_groups: identity.groups, identity_name: identity.name ?? null,
  };
}

export function emptyCommand(commandId: string, sessionId: string): CommandRow {
  return {
    command_id: commandId, session_id: sessionId, seq: null, at: null, requested_at: null, identity_subject: null, identity_issuer: null,
    identity_kind: null, identity_groups: null, resource: null, resource_kind: null, resource_tags: null, protocol: null, kind: null, text: null,
    phase: null, statement_name: null, parameters: null, reason: null, effect: null, verdict_final: null, held: false, rule_ids: null,
    reasons: null, classes: null, policy_version: null, approval_id: null, verdict_at: null, verdict_event_id: null, status: null,
    row_count: null, tag: null, error: null, duration_ms: null, completed_at: null, completed_event_id: null, trace_id: null,
    dispute_event_id: null, dispute_at: null, dispute_reason: null, dispute_expected_effect: null, disputed_decided_by: null, dispute_verified_by: null,
  };
}

export type CommandContributor = CommandRequested | VerdictIssued | VerdictDisputed | Extract<SessionTopicEvent, { type: 'CommandCompleted' }>;

export function evolveCommand(row: CommandRow | undefined, event: CommandContributor): CommandRow {
  const c = { ...(row ?? emptyCommand(event.commandId, event.sessionId)) };
  applyToCommand(c, event);
  return c;
}

/** evolveCommand on a row the caller owns (changed in place), like applyToSession. */
export function applyToCommand(c: CommandRow, event: CommandContributor): void {
  c.at = earlier(c.at, event.occurredAt);
  switch (event.type) {
    case 'CommandRequested': {
      const cmd = event.command;
      Object.assign(c, {
        seq: event.seq, requested_at: event.occurredAt, identity_subject: event.identity.subject, identity_issuer: event.identity.issuer,
        identity_kind: event.identity.kind, identity_groups: event.identity.groups, resource: event.resource.name, resource_kind: event.resource.kind,
        resource_tags: event.resource.tags, protocol: event.protocol, kind: cmd.kind, text: commandText(cmd),
        phase: cmd.kind === 'sql' ? cmd.phase : null, statement_name: cmd.kind === 'sql' ? cmd.statementName ?? null : null,
        parameters: cmd.kind === 'sql' ? cmd.parameters ?? null : null, reason: event.reason ?? null, trace_id: event.traceId ?? null,
      });
      break;
    }
    case 'VerdictIssued': {
      if (event.effect === 'hold') c.held = true;
      const wins = c.verdict_final === null
        || (event.final && !c.verdict_final)
        || (event.final === c.verdict_final && supersedes(event.occurredAt, event.eventId, c.verdict_at, c.verdict_event_id));
      if (wins) {
        Object.assign(c, {
          effect: event.effect, verdict_final: event.final, rule_ids: event.ruleIds, reasons: event.reasons, classes: event.classes,
          policy_version: event.policyVersion, approval_id: event.approvalId ?? c.approval_id, verdict_at: event.occurredAt, verdict_event_id: event.eventId,
        });
      } else if (event.approvalId && !c.approval_id) {
        c.approval_id = event.approvalId;
      }
      break;
    }
    case 'VerdictDisputed':
      // The earliest dispute is shown (a verdict can be disputed twice, e.g. wrong rule and stale policy).
      if (c.dispute_event_id === null || supersedes(c.dispute_at!, c.dispute_event_id, event.occurredAt, event.eventId)) {
        Object.assign(c, {
          dispute_event_id: event.eventId, dispute_at: event.occurredAt, dispute_reason: event.reason, dispute_expected_effect: event.expected?.effect ?? null,
          disputed_decided_by: event.decidedBy, dispute_verified_by: event.verifiedBy,
        });
      }
      break;
    case 'CommandCompleted':
      if (supersedes(event.occurredAt, event.eventId, c.completed_at, c.completed_event_id)) {
        Object.assign(c, {
          status: event.status, row_count: event.rows ?? null, tag: event.tag ?? null, error: event.error ?? null,
          duration_ms: event.durationMs, completed_at: event.occurredAt, completed_event_id: event.eventId,
        });
      }
      break;
    default:
      assertNever(event);
  }
}

export function emptyApproval(approvalId: string, sessionId: string): ApprovalRow {
  return {
    approval_id: approvalId, command_id: null, session_id: sessionId, requested_at: null, requester_subject: null, requester_issuer: null,
    resource: null, command_text: null, rule_id: null, approver_groups: null, quorum: null, expires_at: null, reason: null, status: 'pending',
    status_at: null, status_event_id: null, status_offset: null, decided_by: null, votes: [], comment: null,
  };
}

/** `offset`: the event's offset in its approvals partition (all of an approval's events share one), which orders outcomes. */
export function evolveApproval(row: ApprovalRow | undefined, event: ApprovalsTopicEvent, offset?: string): ApprovalRow {
  const a = { ...(row ?? emptyApproval(event.approvalId, event.sessionId)) };
  switch (event.type) {
    case 'ApprovalRequested':
      Object.assign(a, {
        command_id: event.commandId, session_id: event.sessionId, requested_at: event.occurredAt, requester_subject: event.identity.subject,
        requester_issuer: event.identity.issuer, resource: event.resource.name, command_text: event.commandText, rule_id: event.ruleId,
        approver_groups: event.approverGroups, quorum: event.quorum, expires_at: event.expiresAt, reason: event.reason ?? null,
      });
      break;
    case 'ApprovalVoteRecorded':
      a.votes = [...new Set([...a.votes, event.approver.subject])].sort();
      break;
    case 'ApprovalGranted':
    case 'ApprovalDenied':
    case 'ApprovalExpired':
    case 'ApprovalCancelled': {
      const standing = standingOutcome(a);
      const outcome = foldApprovalOutcome(standing, event, offset);
      if (outcome && outcome !== standing) {
        Object.assign(a, {
          status: outcome.status, status_at: outcome.at, status_event_id: outcome.eventId, status_offset: outcome.offset ?? null,
          decided_by: outcome.status === 'granted' || outcome.status === 'denied' ? outcome.by : null,
          comment: outcome.comment ?? outcome.reason ?? null,
        });
      }
      break;
    }
    default:
      assertNever(event);
  }
  return a;
}

/** The outcome an approval row holds, in the shared fold's terms. */
function standingOutcome(a: ApprovalRow): ApprovalOutcome | undefined {
  if (a.status === 'pending' || a.status_event_id === null || a.status_at === null) return undefined;
  return { status: a.status, eventId: a.status_event_id, at: a.status_at, by: a.decided_by ?? [], ...(a.status_offset !== null ? { offset: String(a.status_offset) } : {}) };
}

export function evolveIdentity(row: IdentityRow | undefined, identity: Identity, at: string, eventId: string): IdentityRow {
  const base: IdentityRow = row ?? {
    issuer: identity.issuer, subject: identity.subject, kind: identity.kind, groups: identity.groups, name: identity.name ?? null,
    first_seen: at, last_seen: at, profile_event_id: eventId,
  };
  const i = { ...base, first_seen: earlier(base.first_seen, at), last_seen: later(base.last_seen, at) };
  // Kind, groups and name as of the latest sighting.
  if (row && supersedes(at, eventId, row.last_seen, row.profile_event_id)) {
    Object.assign(i, { kind: identity.kind, groups: identity.groups, name: identity.name ?? null, profile_event_id: eventId });
  }
  return i;
}

export function assertNever(value: never): never {
  throw new Error(`unhandled case ${JSON.stringify(value)}`);
}
