import type { SessionTopicEvent } from '@portcullis/schemas';
import type { SessionEventSink } from '../../src/ports.ts';

/** Keeps every session event in memory, in arrival order. */
export class CollectingSink implements SessionEventSink {
  readonly events: SessionTopicEvent[] = [];
  /** `edge` when the gate decides at the edge (commands are marked for the PDP to verify, not decide). */
  constructor(readonly decision?: 'edge' | 'remote') {}
  async publish(event: SessionTopicEvent): Promise<void> {
    this.events.push(event);
  }
  ofSession(sessionId: string): SessionTopicEvent[] {
    return this.events.filter((e) => e.sessionId === sessionId);
  }
}
