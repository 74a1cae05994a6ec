/**
 * The audit view's tables: their DDL and their shapes for set-based writes
 * (apply.ts writes each table with one statement per batch).
 */
import { schemaIdent, type PoolClient, type ProjectionDefinition, type TableShape } from '@portcullis/kit';
import type { TopicKey } from '@portcullis/schemas';
import { applyAuditBatch } from './apply.ts';
import type { ApprovalRow, ChainLinkRow, CommandRow, IdentityRow, PendingLinkRow, SessionRow } from './rows.ts';

export const AUDIT_TOPICS: TopicKey[] = ['commands', 'verdicts', 'sessionEvents', 'approvals'];

export async function migrateAudit(client: PoolClient, schema: string): Promise<void> {
  const s = schemaIdent(schema);
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${s}.sessions (
      session_id text PRIMARY KEY,
      protocol text, identity_subject text, identity_issuer text, identity_kind text, identity_groups text[], identity_name text,
      resource text, resource_kind text, resource_tags text[], client_address text, application_name text, reason text,
      started_at timestamptz, opened_at timestamptz, closed_at timestamptz, close_reason text, duration_ms double precision,
      last_event_at timestamptz, last_seq int NOT NULL DEFAULT 0, verified_seq int NOT NULL DEFAULT 0, verified_digest text,
      integrity text NOT NULL DEFAULT 'ok', missing_seq int, tampered_seq int, tampered_event_id text,
      disputed boolean NOT NULL DEFAULT false);
    -- Keyset pagination: every list is ORDER BY <time> DESC NULLS LAST, <id> DESC, and these indexes have exactly that order.
    CREATE INDEX IF NOT EXISTS sessions_by_time ON ${s}.sessions (started_at DESC NULLS LAST, session_id DESC);
    CREATE INDEX IF NOT EXISTS sessions_by_identity ON ${s}.sessions (identity_subject, started_at DESC NULLS LAST, session_id DESC);
    CREATE INDEX IF NOT EXISTS sessions_by_resource ON ${s}.sessions (resource, started_at DESC NULLS LAST, session_id DESC);
    CREATE INDEX IF NOT EXISTS sessions_by_last_event ON ${s}.sessions (last_event_at);
    -- Disputes are rare: a partial index lists them at once and costs nothing for the other rows.
    CREATE INDEX IF NOT EXISTS sessions_disputed ON ${s}.sessions (started_at DESC NULLS LAST, session_id DESC) WHERE disputed;

    CREATE TABLE IF NOT EXISTS ${s}.commands (
      command_id text PRIMARY KEY, session_id text NOT NULL, seq int, at timestamptz, requested_at timestamptz,
      identity_subject text, identity_issuer text, identity_kind text, identity_groups text[],
      resource text, resource_kind text, resource_tags text[], protocol text, kind text, text text, phase text, statement_name text,
      parameters jsonb, reason text, effect text, verdict_final boolean, held boolean NOT NULL DEFAULT false, rule_ids text[], reasons text[],
      classes text[], policy_version int, approval_id text, verdict_at timestamptz, verdict_event_id text,
      status text, row_count bigint, tag text, error text, duration_ms double precision, completed_at timestamptz, completed_event_id text, trace_id text,
      dispute_event_id text, dispute_at timestamptz, dispute_reason text, dispute_expected_effect text, disputed_decided_by text, dispute_verified_by text);
    -- Views built before commands carried their trace id.
    ALTER TABLE ${s}.commands ADD COLUMN IF NOT EXISTS trace_id text;
    CREATE INDEX IF NOT EXISTS commands_by_time ON ${s}.commands (at DESC NULLS LAST, command_id DESC);
    CREATE INDEX IF NOT EXISTS commands_by_session ON ${s}.commands (session_id, seq);
    CREATE INDEX IF NOT EXISTS commands_by_identity ON ${s}.commands (identity_subject, at DESC NULLS LAST, command_id DESC);
    CREATE INDEX IF NOT EXISTS commands_by_resource ON ${s}.commands (resource, at DESC NULLS LAST, command_id DESC);
    CREATE INDEX IF NOT EXISTS commands_by_effect ON ${s}.commands (effect, at DESC NULLS LAST, command_id DESC);
    CREATE INDEX IF NOT EXISTS commands_disputed ON ${s}.commands (at DESC NULLS LAST, command_id DESC) WHERE dispute_event_id IS NOT NULL;

    -- seq and digest of every chained event: a second, different event with a seq already here is tampering.
    -- The largest table by rows (one per chained event), so nothing else: it is written at every batch.
    CREATE TABLE IF NOT EXISTS ${s}.chain_links (
      session_id text NOT NULL, seq int NOT NULL, digest text NOT NULL,
      PRIMARY KEY (session_id, seq));
    -- Chained events not yet proven (an earlier seq has not arrived): kept until the chain reaches them.
    CREATE TABLE IF NOT EXISTS ${s}.chain_pending (
      session_id text NOT NULL, seq int NOT NULL, body text NOT NULL, PRIMARY KEY (session_id, seq));

    CREATE TABLE IF NOT EXISTS ${s}.approvals (
      approval_id text PRIMARY KEY, command_id text, session_id text NOT NULL, requested_at timestamptz,
      requester_subject text, requester_issuer text, resource text, command_text text, rule_id text, approver_groups text[],
      quorum int, expires_at timestamptz, reason text, status text NOT NULL, status_at timestamptz, status_event_id text,
      status_offset bigint, decided_by text[], votes text[] NOT NULL DEFAULT '{}', comment text);

    CREATE TABLE IF NOT EXISTS ${s}.identities (
      issuer text NOT NULL, subject text NOT NULL, kind text NOT NULL, groups text[] NOT NULL, name text,
      first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, profile_event_id text NOT NULL,
      PRIMARY KEY (issuer, subject));
  `);
}

export const sessionsTable: TableShape<SessionRow> = {
  table: 'sessions',
  key: ['session_id'],
  columns: [
    { name: 'session_id', type: 'text' }, { name: 'protocol', type: 'text' }, { name: 'identity_subject', type: 'text' },
    { name: 'identity_issuer', type: 'text' }, { name: 'identity_kind', type: 'text' }, { name: 'identity_groups', type: 'text[]' },
    { name: 'identity_name', type: 'text' }, { name: 'resource', type: 'text' }, { name: 'resource_kind', type: 'text' },
    { name: 'resource_tags', type: 'text[]' }, { name: 'client_address', type: 'text' }, { name: 'application_name', type: 'text' },
    { name: 'reason', type: 'text' }, { name: 'started_at', type: 'timestamptz' }, { name: 'opened_at', type: 'timestamptz' },
    { name: 'closed_at', type: 'timestamptz' }, { name: 'close_reason', type: 'text' }, { name: 'duration_ms', type: 'float8' },
    { name: 'last_event_at', type: 'timestamptz' }, { name: 'last_seq', type: 'int' }, { name: 'verified_seq', type: 'int' },
    { name: 'verified_digest', type: 'text' }, { name: 'integrity', type: 'text' }, { name: 'missing_seq', type: 'int' },
    { name: 'tampered_seq', type: 'int' }, { name: 'tampered_event_id', type: 'text' }, { name: 'disputed', type: 'boolean' },
  ],
};

export const commandsTable: TableShape<CommandRow> = {
  table: 'commands',
  key: ['command_id'],
  columns: [
    { name: 'command_id', type: 'text' }, { name: 'session_id', type: 'text' }, { name: 'seq', type: 'int' }, { name: 'at', type: 'timestamptz' },
    { name: 'requested_at', type: 'timestamptz' }, { name: 'identity_subject', type: 'text' }, { name: 'identity_issuer', type: 'text' },
    { name: 'identity_kind', type: 'text' }, { name: 'identity_groups', type: 'text[]' }, { name: 'resource', type: 'text' },
    { name: 'resource_kind', type: 'text' }, { name: 'resource_tags', type: 'text[]' }, { name: 'protocol', type: 'text' },
    { name: 'kind', type: 'text' }, { name: 'text', type: 'text' }, { name: 'phase', type: 'text' }, { name: 'statement_name', type: 'text' },
    { name: 'parameters', type: 'jsonb' }, { name: 'reason', type: 'text' }, { name: 'effect', type: 'text' }, { name: 'verdict_final', type: 'boolean' },
    { name: 'held', type: 'boolean' }, { name: 'rule_ids', type: 'text[]' }, { name: 'reasons', type: 'text[]' }, { name: 'classes', type: 'text[]' },
    { name: 'policy_version', type: 'int' }, { name: 'approval_id', type: 'text' }, { name: 'verdict_at', type: 'timestamptz' },
    { name: 'verdict_event_id', type: 'text' }, { name: 'status', type: 'text' }, { name: 'row_count', type: 'bigint' }, { name: 'tag', type: 'text' },
    { name: 'error', type: 'text' }, { name: 'duration_ms', type: 'float8' }, { name: 'completed_at', type: 'timestamptz' },
    { name: 'completed_event_id', type: 'text' }, { name: 'trace_id', type: 'text' }, { name: 'dispute_event_id', type: 'text' }, { name: 'dispute_at', type: 'timestamptz' },
    { name: 'dispute_reason', type: 'text' }, { name: 'dispute_expected_effect', type: 'text' }, { name: 'disputed_decided_by', type: 'text' },
    { name: 'dispute_verified_by', type: 'text' },
  ],
};

export const approvalsTable: TableShape<ApprovalRow> = {
  table: 'approvals',
  key: ['approval_id'],
  columns: [
    { name: 'approval_id', type: 'text' }, { name: 'command_id', type: 'text' }, { name: 'session_id', type: 'text' },
    { name: 'requested_at', type: 'timestamptz' }, { name: 'requester_subject', type: 'text' }, { name: 'requester_issuer', type: 'text' },
    { name: 'resource', type: 'text' }, { name: 'command_text', type: 'text' }, { name: 'rule_id', type: 'text' },
    { name: 'approver_groups', type: 'text[]' }, { name: 'quorum', type: 'int' }, { name: 'expires_at', type: 'timestamptz' },
    { name: 'reason', type: 'text' }, { name: 'status', type: 'text' }, { name: 'status_at', type: 'timestamptz' },
    { name: 'status_event_id', type: 'text' }, { name: 'status_offset', type: 'bigint' }, { name: 'decided_by', type: 'text[]' },
    { name: 'votes', type: 'text[]' }, { name: 'comment', type: 'text' },
  ],
};

export const identitiesTable: TableShape<IdentityRow> = {
  table: 'identities',
  key: ['issuer', 'subject'],
  columns: [
    { name: 'issuer', type: 'text' }, { name: 'subject', type: 'text' }, { name: 'kind', type: 'text' }, { name: 'groups', type: 'text[]' },
    { name: 'name', type: 'text' }, { name: 'first_seen', type: 'timestamptz' }, { name: 'last_seen', type: 'timestamptz' },
    { name: 'profile_event_id', type: 'text' },
  ],
};

export const chainLinksTable: TableShape<ChainLinkRow> = {
  table: 'chain_links',
  key: ['session_id', 'seq'],
  columns: [{ name: 'session_id', type: 'text' }, { name: 'seq', type: 'int' }, { name: 'digest', type: 'text' }],
};

/** A batch's links as compared with the stored ones (apply.ts): with the event id, to name a tampering event. */
export const chainLinkProbe: TableShape<ChainLinkRow> = {
  table: 'chain_links',
  key: ['session_id', 'seq'],
  columns: [...chainLinksTable.columns, { name: 'event_id', type: 'text' }],
};

export const chainPendingTable: TableShape<PendingLinkRow> = {
  table: 'chain_pending',
  key: ['session_id', 'seq'],
  columns: [{ name: 'session_id', type: 'text' }, { name: 'seq', type: 'int' }, { name: 'body', type: 'text' }],
};

export const auditProjection: ProjectionDefinition = {
  name: 'audit',
  // 2: chain_links + chain_pending instead of chain_events, approvals.status_offset (first outcome in log order).
  // 3: disputes (commands.dispute_*, sessions.disputed): VerdictDisputed events before it were passed over, so rebuild;
  //    chain_links narrowed to (session_id, seq, digest).
  version: 3,
  tables: ['sessions', 'commands', 'chain_events', 'chain_links', 'chain_pending', 'approvals', 'identities'],
  topics: AUDIT_TOPICS,
  migrate: migrateAudit,
  apply: applyAuditBatch,
};
