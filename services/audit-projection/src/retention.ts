/**
 * Retention of the audit VIEW (the log keeps everything: its topics never
 * expire). Pruning drops, in one transaction under the projection's lock,
 * whole sessions whose last event is older than the cutoff (with their
 * commands and chain rows), approvals decided (or requested) before it and
 * identities last seen before it. Any window can be rebuilt from the log
 * afterwards (rebuildAuditWindow).
 */
import { inTransaction, rebuildWindow, schemaIdent, type Pool, type StartProjectionOptions } from '@portcullis/kit';
import { auditProjection } from './audit/tables.ts';
import { DEFAULT_AUDIT_SCHEMA } from './projection.ts';

export interface Pruned {
  cutoff: string;
  sessions: number;
  commands: number;
  approvals: number;
  identities: number;
}

export async function pruneAudit(pool: Pool, options: { schema?: string; olderThanDays: number; now?: Date }): Promise<Pruned> {
  const schema = options.schema ?? DEFAULT_AUDIT_SCHEMA;
  const s = schemaIdent(schema);
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.olderThanDays * 86400_000).toISOString();
  return inTransaction(pool, async (client) => {
    // The projection's own lock: no batch is half-applied to what is being pruned.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis-projection:${schema}:${auditProjection.name}`]);
    await client.query(`CREATE TEMP TABLE pruned_sessions ON COMMIT DROP AS SELECT session_id FROM ${s}.sessions WHERE last_event_at < $1::timestamptz`, [cutoff]);
    const commands = await client.query(`DELETE FROM ${s}.commands c USING pruned_sessions p WHERE c.session_id = p.session_id`);
    await client.query(`DELETE FROM ${s}.chain_links c USING pruned_sessions p WHERE c.session_id = p.session_id`);
    await client.query(`DELETE FROM ${s}.chain_pending c USING pruned_sessions p WHERE c.session_id = p.session_id`);
    const sessions = await client.query(`DELETE FROM ${s}.sessions c USING pruned_sessions p WHERE c.session_id = p.session_id`);
    const approvals = await client.query(`DELETE FROM ${s}.approvals WHERE coalesce(status_at, requested_at) < $1::timestamptz`, [cutoff]);
    const identities = await client.query(`DELETE FROM ${s}.identities WHERE last_seen < $1::timestamptz`, [cutoff]);
    return { cutoff, sessions: sessions.rowCount ?? 0, commands: commands.rowCount ?? 0, approvals: approvals.rowCount ?? 0, identities: identities.rowCount ?? 0 };
  });
}

/** Applies the log's events of [from, to) to the audit view (the live one by default): restores a pruned window. */
export function rebuildAuditWindow(options: StartProjectionOptions & { from: Date; to: Date; timeoutMs?: number }): Promise<{ events: number; ms: number }> {
  return rebuildWindow({ ...options, schema: options.schema ?? DEFAULT_AUDIT_SCHEMA, definition: auditProjection });
}
