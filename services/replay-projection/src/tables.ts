/**
 * The replay view keeps, per session, every event a transcript is made of
 * (chained session events, commands and their verdicts) keyed by event id;
 * the transcript is assembled in seq order when read (transcript.ts), so the
 * arrival order of events never matters and applying one twice is a no-op.
 */
import type { TopicKey } from '@portcullis/schemas';
import { schemaIdent, type PoolClient, type ProjectedEvent, type ProjectionDefinition } from '@portcullis/audit-projection';

export const REPLAY_TOPICS: TopicKey[] = ['commands', 'verdicts', 'sessionEvents'];

export async function migrateReplay(client: PoolClient, schema: string): Promise<void> {
  const s = schemaIdent(schema);
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${s}.transcript_events (
      event_id text PRIMARY KEY, session_id text NOT NULL, type text NOT NULL, seq int, command_id text,
      occurred_at timestamptz NOT NULL, body jsonb NOT NULL);
    CREATE INDEX IF NOT EXISTS transcript_events_session ON ${s}.transcript_events (session_id, seq);`);
}

export async function applyReplayBatch(client: PoolClient, schema: string, batch: ProjectedEvent[]): Promise<void> {
  const rows = batch.map(({ event }) => ({
    event_id: event.eventId, session_id: event.sessionId, type: event.type, seq: 'seq' in event ? event.seq : null,
    command_id: 'commandId' in event ? event.commandId ?? null : null, occurred_at: event.occurredAt, body: event,
  }));
  if (rows.length === 0) return;
  const s = schemaIdent(schema);
  await client.query(
    `INSERT INTO ${s}.transcript_events (event_id, session_id, type, seq, command_id, occurred_at, body)
     SELECT event_id, session_id, type, seq, command_id, occurred_at, body FROM json_populate_recordset(NULL::${s}.transcript_events, $1::json)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(rows)],
  );
}

export const replayProjection: ProjectionDefinition = { name: 'replay', topics: REPLAY_TOPICS, migrate: migrateReplay, apply: applyReplayBatch };
