import type { EventOf, TopicKey } from '@portcullis/schemas';

/** A row of replay.transcript_events: the event as validated, with the columns a transcript is looked up and ordered by. */
export interface TranscriptEventRow {
  event_id: string;
  session_id: string;
  type: string;
  seq: number | null;
  command_id: string | null;
  occurred_at: string;
  body: unknown;
}

/** The replay view's evolve: events → rows, one per distinct event id (the first copy; copies are identical). Pure. */
export function transcriptRows(events: readonly EventOf<TopicKey>[]): TranscriptEventRow[] {
  const rows = new Map<string, TranscriptEventRow>();
  for (const event of events) {
    if (rows.has(event.eventId) || !('sessionId' in event)) continue;
    rows.set(event.eventId, {
      event_id: event.eventId, session_id: event.sessionId, type: event.type, seq: 'seq' in event ? event.seq : null,
      command_id: 'commandId' in event ? event.commandId ?? null : null, occurred_at: event.occurredAt, body: event,
    });
  }
  return [...rows.values()];
}
