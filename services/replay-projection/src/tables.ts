/**
 * The replay view keeps, per session, every event a transcript is made of
 * (chained session events, commands and their verdicts) keyed by event id;
 * the transcript is assembled in seq order when read (transcript.ts), so the
 * arrival order of events never matters and applying one twice is a no-op.
 * A batch is written with one set-based statement.
 */
import type { TopicKey } from '@portcullis/schemas';
import { schemaIdent, upsertRows, type PoolClient, type ProjectedEvent, type ProjectionDefinition, type TableShape } from '@portcullis/kit';
import { transcriptRows, type TranscriptEventRow } from './rows.ts';

export const REPLAY_TOPICS: TopicKey[] = ['commands', 'verdicts', 'sessionEvents'];

export async function migrateReplay(client: PoolClient, schema: string): Promise<void> {
  const s = schemaIdent(schema);
  await client.query(`
    CREATE TABLE IF NOT EXISTS ${s}.transcript_events (
      event_id text PRIMARY KEY, session_id text NOT NULL, type text NOT NULL, seq int, command_id text,
      occurred_at timestamptz NOT NULL, body jsonb NOT NULL);
    CREATE INDEX IF NOT EXISTS transcript_events_session ON ${s}.transcript_events (session_id, seq);`);
}

export const transcriptEventsTable: TableShape<TranscriptEventRow> = {
  table: 'transcript_events',
  key: ['event_id'],
  columns: [
    { name: 'event_id', type: 'text' }, { name: 'session_id', type: 'text' }, { name: 'type', type: 'text' }, { name: 'seq', type: 'int' },
    { name: 'command_id', type: 'text' }, { name: 'occurred_at', type: 'timestamptz' }, { name: 'body', type: 'jsonb' },
  ],
};

export async function applyReplayBatch(client: PoolClient, schema: string, batch: ProjectedEvent[]): Promise<void> {
  await upsertRows(client, schema, transcriptEventsTable, transcriptRows(batch.map((b) => b.event)), 'nothing');
}

export const replayProjection: ProjectionDefinition = {
  name: 'replay', topics: REPLAY_TOPICS, tables: ['transcript_events'], migrate: migrateReplay, apply: applyReplayBatch,
};
