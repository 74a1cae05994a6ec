import type { SessionTopicEvent } from '@portcullis/schemas';
import type { SessionEventSink } from '../../src/ports.ts';

/** Keeps every session event in memory, in arrival order. */
export class CollectingSink implements SessionEventSink {
  readonly events: SessionTopicEvent[] = [];
  failing = false;

  async publish(event: SessionTopicEvent): Promise<void> {
    if (this.failing) throw new Error('sink unavailable');
    this.events.push(event);
  }

  ofType<T extends SessionTopicEvent['type']>(type: T): Extract<SessionTopicEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SessionTopicEvent, { type: T }> => e.type === type);
  }
}
