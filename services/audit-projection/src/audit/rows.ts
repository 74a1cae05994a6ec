import type { ChainState } from './integrity.ts';
/**
 * Rows of the audit view as the tables hold them (snake_case, one field per
 * column). `evolve*` functions build them from events; tables.ts writes them.
 */
/** A session of the audit view; its integrity columns are the chain state (integrity.ts). */
export interface SessionRow extends ChainState {
  session_id: string;
  protocol: string | null;
  identity_subject: string | null;
  identity_issuer: string | null;
  identity_kind: string | null;
  identity_groups: string[] | null;
  identity_name: string | null;
  resource: string | null;
  resource_kind: string | null;
  resource_tags: string[] | null;
  client_address: string | null;
  application_name: string | null;
  reason: string | null;
  started_at: string | null;
  opened_at: string | null;
  closed_at: string | null;
  close_reason: string | null;
  duration_ms: number | null;
  last_event_at: string | null;
  last_seq: number;
  /** The verifier disputed a verdict issued in this session (VerdictDisputed). */
  disputed: boolean;
}

export interface CommandRow {
  command_id: string;
  session_id: string;
  seq: number | null;
  at: string | null;
  requested_at: string | null;
  identity_subject: string | null;
  identity_issuer: string | null;
  identity_kind: string | null;
  identity_groups: string[] | null;
  resource: string | null;
  resource_kind: string | null;
  resource_tags: string[] | null;
  protocol: string | null;
  kind: string | null;
  text: string | null;
  phase: string | null;
  statement_name: string | null;
  parameters: (string | null)[] | null;
  reason: string | null;
  effect: string | null;
  verdict_final: boolean | null;
  held: boolean;
  rule_ids: string[] | null;
  reasons: string[] | null;
  classes: string[] | null;
  policy_version: number | null;
  approval_id: string | null;
  verdict_at: string | null;
  verdict_event_id: string | null;
  status: string | null;
  row_count: number | null;
  tag: string | null;
  error: string | null;
  duration_ms: number | null;
  completed_at: string | null;
  completed_event_id: string | null;
  /** The command's OpenTelemetry trace (CommandRequested.traceId) when the gateway exported one. */
  trace_id: string | null;
  /**
   * The verifier's dispute of a verdict on this command (VerdictDisputed):
   * the earliest by (occurredAt, eventId), so any order of arrival gives the same row.
   */
  dispute_event_id: string | null;
  dispute_at: string | null;
  dispute_reason: string | null;
  /** What the verifier decided (null: it could not decide under the verdict's policy version). */
  dispute_expected_effect: string | null;
  /** decidedBy of the disputed verdict: which proxy issued it. */
  disputed_decided_by: string | null;
  dispute_verified_by: string | null;
}

export interface ApprovalRow {
  approval_id: string;
  command_id: string | null;
  session_id: string;
  requested_at: string | null;
  requester_subject: string | null;
  requester_issuer: string | null;
  resource: string | null;
  command_text: string | null;
  rule_id: string | null;
  approver_groups: string[] | null;
  quorum: number | null;
  expires_at: string | null;
  reason: string | null;
  status: 'pending' | 'granted' | 'denied' | 'expired' | 'cancelled';
  status_at: string | null;
  status_event_id: string | null;
  /** Offset of the deciding outcome in its approvals partition: the first outcome in log order decides. */
  status_offset: string | null;
  decided_by: string[] | null;
  votes: string[];
  comment: string | null;
}

export interface IdentityRow {
  issuer: string;
  subject: string;
  kind: string;
  groups: string[];
  name: string | null;
  first_seen: string;
  last_seen: string;
  /** Event that last set kind / groups / name (ties on time broken by event id, so any order gives the same row). */
  profile_event_id: string;
}

/** One chained event's place in its session's chain (the table keeps session, seq and digest; the id names a tampering event). */
export interface ChainLinkRow {
  session_id: string;
  seq: number;
  digest: string;
  event_id: string;
}

/** A chained event waiting for the events before it (JSON of the event as validated). */
export interface PendingLinkRow {
  session_id: string;
  seq: number;
  body: string;
}
