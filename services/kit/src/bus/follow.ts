import { newId, type EventOf, type TopicKey } from '@portcullis/schemas';
import type { Bus } from './bus.ts';

export interface Follower {
  /** Resolves once every event that was in the topic when following started has been handled. */
  caughtUp: Promise<void>;
  /**
   * When the follower last heard from the broker (a fetch answered, with or
   * without new events), in Date.now() milliseconds. State built from the
   * topic is at most this old; a stale follower is a reason to fail closed.
   */
  lastFetchAt(): number;
  stop(): Promise<void>;
}

/**
 * Builds in-memory state from a whole topic and keeps following it: a group
 * of its own reading from offset 0 (state, not work: every instance reads
 * everything). Used for the PDP's policy state and held approvals.
 *
 * "Caught up" is measured against the end offsets noted before joining: a
 * partition is done when its handler saw the last record before that end,
 * or a batch reports no lag (the tail may be a transaction marker, which is
 * never delivered as a message).
 */
export async function followTopic<K extends TopicKey>(
  bus: Bus,
  key: K,
  handler: (event: EventOf<K>, position: { partition: number; offset: string }) => void | Promise<void>,
  options: { name: string } = { name: 'follower' },
): Promise<Follower> {
  await bus.connect();
  const topic = bus.names.of(key);
  const admin = await bus.admin();
  const ends = await admin.fetchTopicOffsets(topic);
  const pending = new Map<number, bigint>();
  for (const p of ends) {
    const high = BigInt(p.high);
    if (high > BigInt(p.low)) pending.set(p.partition, high);
  }
  let resolveCaughtUp!: () => void;
  const caughtUp = new Promise<void>((r) => (resolveCaughtUp = r));
  const settle = (partition: number, reached: boolean): void => {
    if (reached) pending.delete(partition);
    if (pending.size === 0) resolveCaughtUp();
  };
  if (pending.size === 0) resolveCaughtUp();

  const subscription = await bus.subscribe({
    groupId: `portcullis-${options.name}-${newId()}`,
    name: options.name,
    topics: [key],
    fromBeginning: true,
    maxWaitTimeInMs: 200,
    handler: async ({ event, partition, offset }) => {
      await handler(event as EventOf<K>, { partition, offset });
      const end = pending.get(partition);
      if (end !== undefined) settle(partition, BigInt(offset) + 1n >= end);
    },
  });
  let lastFetchAt = Date.now();
  subscription.consumer.on(subscription.consumer.events.FETCH, () => {
    lastFetchAt = Date.now();
  });
  subscription.consumer.on(subscription.consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.topic === topic && pending.has(payload.partition) && BigInt(payload.offsetLag) <= 0n) settle(payload.partition, true);
  });
  return { caughtUp, lastFetchAt: () => lastFetchAt, stop: () => subscription.stop() };
}
