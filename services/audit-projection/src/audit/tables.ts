/**
 * The audit view's tables and how one Kafka batch is written: load the rows
 * the batch touches (one query per table), evolve them in memory, write them
 * back with one multi-row upsert per table, then continue the hash-chain
 * check of every touched session. All inside the runner's transaction.
 */
import { canonicalJson, type ChainedEvent, type TopicKey } from '@portcullis/schemas';
import { schemaIdent, type PoolClient } from '../db.ts';
import type { ProjectedEvent, ProjectionDefinition } from '../projection-runner.ts';
import { evolveApproval, evolveCommand, evolveIdentity, evolveSession } from './evolve.ts';
import { continueChain } from './integrity.ts';
import type { ApprovalRow, ChainEventRow, CommandRow, IdentityRow, SessionRow } from './rows.ts';

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
      integrity text NOT NULL DEFAULT 'ok', missing_seq int, tampered_seq int, tampered_event_id text);
    CREATE INDEX IF NOT EXISTS sessions_order ON ${s}.sessions (started_at DESC, session_id DESC);
    CREATE INDEX IF NOT EXISTS sessions_identity ON ${s}.sessions (identity_subject);
    CREATE INDEX IF NOT EXISTS sessions_resource ON ${s}.sessions (resource);

    CREATE TABLE IF NOT EXISTS ${s}.commands (
      command_id text PRIMARY KEY, session_id text NOT NULL, seq int, at timestamptz, requested_at timestamptz,
      identity_subject text, identity_issuer text, identity_kind text, identity_groups text[],
      resource text, resource_kind text, resource_tags text[], protocol text, kind text, text text, phase text, statement_name text,
      parameters jsonb, reason text, effect text, verdict_final boolean, held boolean NOT NULL DEFAULT false, rule_ids text[], reasons text[],
      classes text[], policy_version int, approval_id text, verdict_at timestamptz, verdict_event_id text,
      status text, row_count bigint, tag text, error text, duration_ms double precision, completed_at timestamptz, completed_event_id text);
    CREATE INDEX IF NOT EXISTS commands_order ON ${s}.commands (at DESC, command_id DESC);
    CREATE INDEX IF NOT EXISTS commands_session ON ${s}.commands (session_id, seq);
    CREATE INDEX IF NOT EXISTS commands_identity ON ${s}.commands (identity_subject);

    CREATE TABLE IF NOT EXISTS ${s}.chain_events (
      session_id text NOT NULL, seq int NOT NULL, digest text NOT NULL, event_id text NOT NULL, type text NOT NULL,
      body text NOT NULL, PRIMARY KEY (session_id, seq, digest));

    CREATE TABLE IF NOT EXISTS ${s}.approvals (
      approval_id text PRIMARY KEY, command_id text, session_id text NOT NULL, requested_at timestamptz,
      requester_subject text, requester_issuer text, resource text, command_text text, rule_id text, approver_groups text[],
      quorum int, expires_at timestamptz, reason text, status text NOT NULL, status_at timestamptz, status_event_id text,
      decided_by text[], votes text[] NOT NULL DEFAULT '{}', comment text);

    CREATE TABLE IF NOT EXISTS ${s}.identities (
      issuer text NOT NULL, subject text NOT NULL, kind text NOT NULL, groups text[] NOT NULL, name text,
      first_seen timestamptz NOT NULL, last_seen timestamptz NOT NULL, profile_event_id text NOT NULL,
      PRIMARY KEY (issuer, subject));
  `);
}

/** Rows of `table` whose key is in `keys`, as JSON objects with the column names. */
async function load<R>(client: PoolClient, s: string, table: string, keyColumn: string, keys: string[]): Promise<Map<string, R>> {
  if (keys.length === 0) return new Map();
  const { rows } = await client.query<{ r: R & Record<string, string> }>(
    `SELECT row_to_json(t) AS r FROM ${s}.${table} t WHERE ${keyColumn} = ANY($1)`, [keys]);
  return new Map(rows.map(({ r }) => [r[keyColumn]!, r]));
}

/** One multi-row upsert: the rows travel as one JSON array and are typed by the table's own row type. */
async function upsert(client: PoolClient, s: string, table: string, key: string[], rows: object[], onConflict: 'update' | 'nothing' = 'update'): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const set = columns.filter((c) => !key.includes(c)).map((c) => `${c} = EXCLUDED.${c}`).join(', ');
  const action = onConflict === 'nothing' || set === '' ? 'DO NOTHING' : `DO UPDATE SET ${set}`;
  await client.query(
    `INSERT INTO ${s}.${table} (${columns.join(', ')})
     SELECT ${columns.join(', ')} FROM json_populate_recordset(NULL::${s}.${table}, $1::json)
     ON CONFLICT (${key.join(', ')}) ${action}`,
    [JSON.stringify(rows)],
  );
}

export async function applyAuditBatch(client: PoolClient, schema: string, batch: ProjectedEvent[]): Promise<void> {
  const s = schemaIdent(schema);
  const sessionIds = new Set<string>();
  const commandIds = new Set<string>();
  const approvalIds = new Set<string>();
  const identityKeys = new Set<string>();
  const idKey = (issuer: string, subject: string): string => JSON.stringify([issuer, subject]);
  for (const { event } of batch) {
    switch (event.type) {
      case 'CommandRequested':
        identityKeys.add(idKey(event.identity.issuer, event.identity.subject));
        commandIds.add(event.commandId);
        break;
      case 'VerdictIssued':
      case 'CommandCompleted':
        commandIds.add(event.commandId);
        break;
      case 'SessionOpened':
        identityKeys.add(idKey(event.identity.issuer, event.identity.subject));
        break;
      case 'ApprovalRequested':
        identityKeys.add(idKey(event.identity.issuer, event.identity.subject));
        approvalIds.add(event.approvalId);
        break;
      case 'ApprovalVoteRecorded':
        identityKeys.add(idKey(event.approver.issuer, event.approver.subject));
        approvalIds.add(event.approvalId);
        break;
      default:
        if ('approvalId' in event) approvalIds.add(event.approvalId);
    }
    if (!('approvalId' in event && event.type.startsWith('Approval'))) sessionIds.add(event.sessionId);
  }

  const sessions = await load<SessionRow>(client, s, 'sessions', 'session_id', [...sessionIds]);
  const commands = await load<CommandRow>(client, s, 'commands', 'command_id', [...commandIds]);
  const approvals = await load<ApprovalRow>(client, s, 'approvals', 'approval_id', [...approvalIds]);
  const identities = await loadIdentities(client, s, [...identityKeys].map((k) => JSON.parse(k) as [string, string]));
  const chain: ChainEventRow[] = [];

  for (const { event } of batch) {
    switch (event.type) {
      case 'CommandRequested':
      case 'VerdictIssued':
      case 'CommandCompleted':
        commands.set(event.commandId, evolveCommand(commands.get(event.commandId), event));
        sessions.set(event.sessionId, evolveSession(sessions.get(event.sessionId), event));
        break;
      case 'SessionOpened':
      case 'OutputRecorded':
      case 'SessionClosed':
        sessions.set(event.sessionId, evolveSession(sessions.get(event.sessionId), event));
        break;
      case 'ApprovalRequested':
      case 'ApprovalVoteRecorded':
      case 'ApprovalGranted':
      case 'ApprovalDenied':
      case 'ApprovalExpired':
      case 'ApprovalCancelled':
        approvals.set(event.approvalId, evolveApproval(approvals.get(event.approvalId), event));
        break;
      case 'PolicySetPublished':
        break;
    }
    const seen = event.type === 'CommandRequested' || event.type === 'SessionOpened' || event.type === 'ApprovalRequested'
      ? event.identity : event.type === 'ApprovalVoteRecorded' ? event.approver : undefined;
    if (seen) {
      const k = idKey(seen.issuer, seen.subject);
      identities.set(k, evolveIdentity(identities.get(k), seen, event.occurredAt, event.eventId));
    }
    if ('seq' in event && 'digest' in event) {
      chain.push({ session_id: event.sessionId, seq: event.seq, digest: event.digest, event_id: event.eventId, type: event.type, body: canonicalJson(event) });
    }
  }

  await upsert(client, s, 'chain_events', ['session_id', 'seq', 'digest'], dedupe(chain, (c) => `${c.session_id}\u0000${c.seq}\u0000${c.digest}`), 'nothing');
  await verifyTouchedSessions(client, s, sessions);
  await upsert(client, s, 'sessions', ['session_id'], [...sessions.values()]);
  await upsert(client, s, 'commands', ['command_id'], [...commands.values()]);
  await upsert(client, s, 'approvals', ['approval_id'], [...approvals.values()]);
  await upsert(client, s, 'identities', ['issuer', 'subject'], [...identities.values()]);
}

function dedupe<T>(rows: T[], key: (row: T) => string): T[] {
  return [...new Map(rows.map((r) => [key(r), r])).values()];
}

async function loadIdentities(client: PoolClient, s: string, keys: [string, string][]): Promise<Map<string, IdentityRow>> {
  if (keys.length === 0) return new Map();
  const { rows } = await client.query<{ r: IdentityRow }>(
    `SELECT row_to_json(t) AS r FROM ${s}.identities t JOIN unnest($1::text[], $2::text[]) AS k(issuer, subject) USING (issuer, subject)`,
    [keys.map((k) => k[0]), keys.map((k) => k[1])],
  );
  return new Map(rows.map(({ r }) => [JSON.stringify([r.issuer, r.subject]), r]));
}

/** Continues each touched session's chain check from its proven prefix, with the chained events stored after it. */
async function verifyTouchedSessions(client: PoolClient, s: string, sessions: Map<string, SessionRow>): Promise<void> {
  const open = [...sessions.values()].filter((r) => r.integrity !== 'tampered');
  if (open.length === 0) return;
  const { rows } = await client.query<{ session_id: string; body: string }>(
    `SELECT c.session_id, c.body FROM ${s}.chain_events c
       JOIN unnest($1::text[], $2::int[]) AS v(session_id, verified_seq) USING (session_id)
      WHERE c.seq > v.verified_seq`,
    [open.map((r) => r.session_id), open.map((r) => r.verified_seq)],
  );
  const bySession = new Map<string, ChainedEvent[]>();
  for (const r of rows) {
    const list = bySession.get(r.session_id) ?? [];
    list.push(JSON.parse(r.body) as ChainedEvent);
    bySession.set(r.session_id, list);
  }
  for (const row of open) {
    const next = continueChain(row, bySession.get(row.session_id) ?? []);
    sessions.set(row.session_id, { ...row, ...next });
  }
}

export const auditProjection: ProjectionDefinition = {
  name: 'audit',
  topics: AUDIT_TOPICS,
  migrate: migrateAudit,
  apply: applyAuditBatch,
};
