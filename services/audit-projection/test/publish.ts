import type { Bus } from '@portcullis/kit';
import type { EventOf, TopicKey } from '@portcullis/schemas';

/** Publishes crafted events to the topic each belongs on, in the given order. */
export async function publishAll(bus: Bus, events: { type: string }[]): Promise<void> {
  for (const e of events) await bus.publish(topicOf(e.type), e as EventOf<TopicKey>);
}

export function topicOf(type: string): TopicKey {
  if (type === 'CommandRequested') return 'commands';
  if (type === 'VerdictIssued' || type === 'VerdictDisputed') return 'verdicts';
  if (type.startsWith('Approval')) return 'approvals';
  if (type === 'PolicySetPublished') return 'policies';
  return 'sessionEvents';
}
