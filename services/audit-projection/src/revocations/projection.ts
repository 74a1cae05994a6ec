/**
 * The revocation log: every revocation, restore and admin kill as it was
 * read from portcullis.revocations, kept for good in the audit schema. The
 * topic is compacted (the proxies need the latest event per target); this
 * view is the history — who revoked whom, when, why, and who lifted it.
 */
import { runProjection, schemaIdent, type PoolClient, type ProjectedEvent, type ProjectionDefinition, type RunningProjection, type StartProjectionOptions } from '@portcullis/kit';
import type { RevocationsTopicEvent, RevocationTarget } from '@portcullis/schemas';

export interface RevocationLogRow {
  event_id: string;
  type: string;
  at: string;
  target_kind: string | null;
  issuer: string | null;
  name: string | null;
  session_id: string | null;
  reason: string | null;
  actor_subject: string;
  actor_issuer: string;
  /** IdentityRestored: when the lifted revocation took effect. */
  revoked_at: string | null;
}

const nameOf = (target: RevocationTarget): string => (target.kind === 'identity' ? target.subject : target.kind === 'group' ? target.group : target.clientId);

/** One row per event (pure; unit-tested). */
export function revocationLogRow(event: RevocationsTopicEvent): RevocationLogRow {
  const base = { event_id: event.eventId, type: event.type, at: event.occurredAt };
  switch (event.type) {
    case 'IdentityRevoked':
      return { ...base, target_kind: event.target.kind, issuer: event.target.issuer, name: nameOf(event.target), session_id: null, reason: event.reason, actor_subject: event.revokedBy.subject, actor_issuer: event.revokedBy.issuer, revoked_at: null };
    case 'IdentityRestored':
      return { ...base, target_kind: event.target.kind, issuer: event.target.issuer, name: nameOf(event.target), session_id: null, reason: event.reason ?? null, actor_subject: event.restoredBy.subject, actor_issuer: event.restoredBy.issuer, revoked_at: event.revoked.at };
    case 'SessionTerminated':
      return { ...base, target_kind: null, issuer: null, name: null, session_id: event.sessionId, reason: event.reason, actor_subject: event.terminatedBy.subject, actor_issuer: event.terminatedBy.issuer, revoked_at: null };
  }
}

const COLUMNS = ['event_id', 'type', 'at', 'target_kind', 'issuer', 'name', 'session_id', 'reason', 'actor_subject', 'actor_issuer', 'revoked_at'] as const;

async function migrate(client: PoolClient, schema: string): Promise<void> {
  const s = schemaIdent(schema);
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${s}.revocation_log (
      event_id text PRIMARY KEY, type text NOT NULL, at timestamptz NOT NULL, target_kind text, issuer text, name text,
      session_id text, reason text, actor_subject text NOT NULL, actor_issuer text NOT NULL, revoked_at timestamptz);
    CREATE INDEX IF NOT EXISTS revocation_log_by_time ON ${s}.revocation_log (at DESC, event_id DESC);
    CREATE INDEX IF NOT EXISTS revocation_log_by_name ON ${s}.revocation_log (name, at DESC);`);
}

async function apply(client: PoolClient, schema: string, events: ProjectedEvent[]): Promise<void> {
  const rows = events.filter((e) => e.topicKey === 'revocations').map((e) => revocationLogRow(e.event as RevocationsTopicEvent));
  if (rows.length === 0) return;
  // One statement per batch: arrays per column, unnested (redelivered events are skipped by the key).
  await client.query(
    `INSERT INTO ${schemaIdent(schema)}.revocation_log (${COLUMNS.join(', ')})
     SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
     ON CONFLICT (event_id) DO NOTHING`,
    COLUMNS.map((c) => rows.map((r) => r[c])),
  );
}

export const revocationLogProjection: ProjectionDefinition = {
  name: 'revocation-log',
  version: 1,
  tables: ['revocation_log'],
  topics: ['revocations'],
  migrate,
  apply,
};

export function startRevocationLog(options: StartProjectionOptions): Promise<RunningProjection> {
  return runProjection({ ...options, schema: options.schema ?? 'audit', definition: revocationLogProjection });
}
