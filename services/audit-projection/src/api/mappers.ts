import type { CommandItem } from './schemas.ts';

type Row = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function toCommandItem(r: Row): CommandItem {
  return {
    commandId: r.command_id, sessionId: r.session_id, seq: r.seq, at: r.at,
    identity: { subject: r.identity_subject, issuer: r.identity_issuer, kind: r.identity_kind },
    resource: r.resource, protocol: r.protocol, kind: r.kind, text: r.text, phase: r.phase, statementName: r.statement_name,
    parameters: r.parameters, reason: r.reason,
    verdict: {
      effect: r.effect, final: r.verdict_final, held: r.held, ruleIds: r.rule_ids ?? [], reasons: r.reasons ?? [], classes: r.classes ?? [],
      policyVersion: r.policy_version, approvalId: r.approval_id, at: r.verdict_at,
    },
    outcome: { status: r.status, rows: r.row_count, tag: r.tag, error: r.error, durationMs: r.duration_ms, at: r.completed_at },
    traceId: r.trace_id ?? null,
    dispute: r.dispute_event_id === null || r.dispute_event_id === undefined ? null : {
      eventId: r.dispute_event_id, at: r.dispute_at, reason: r.dispute_reason, expectedEffect: r.dispute_expected_effect,
      decidedBy: r.disputed_decided_by, verifiedBy: r.dispute_verified_by,
    },
    flags: r.flags ?? [],
  };
}

export function integrityDetail(r: Row): string {
  if (r.integrity === 'gap') return `event seq ${r.missing_seq} of this session is missing: the record is incomplete`;
  if (r.integrity === 'tampered') return `event seq ${r.tampered_seq} (${r.tampered_event_id ?? 'unknown id'}) does not match its digest: the record was altered`;
  return `seq 1..${r.last_seq} present and every digest recomputes`;
}

export function toSessionItem(r: Row) {
  return {
    sessionId: r.session_id, protocol: r.protocol,
    identity: { subject: r.identity_subject, issuer: r.identity_issuer, kind: r.identity_kind, groups: r.identity_groups, name: r.identity_name },
    resource: { name: r.resource, kind: r.resource_kind, tags: r.resource_tags },
    clientAddress: r.client_address, applicationName: r.application_name, startedAt: r.started_at, openedAt: r.opened_at,
    closedAt: r.closed_at, closeReason: r.close_reason, lastSeq: r.last_seq,
    integrity: { status: r.integrity, missingSeq: r.missing_seq, tamperedSeq: r.tampered_seq, tamperedEventId: r.tampered_event_id, detail: integrityDetail(r) },
    commandCount: r.command_count, blockedOrHeldCount: r.blocked_or_held_count, flaggedCount: r.flagged_count, disputed: r.disputed ?? false,
  };
}

export const CSV_COLUMNS = [
  'at', 'command_id', 'session_id', 'seq', 'identity_subject', 'identity_kind', 'resource', 'protocol', 'text', 'effect', 'rule_ids',
  'reasons', 'classes', 'status', 'row_count', 'error', 'flags', 'dispute_reason',
] as const;

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = Array.isArray(value) ? value.join(';') : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
