import type { Message, Producer } from 'kafkajs';

export interface PendingCommit {
  /** Encoded messages by topic. */
  messages: Map<string, Message[]>;
  /** Consumer position to commit with them: the next offset to read. */
  offset: { topic: string; partition: number; offset: string };
}

/**
 * One Kafka transaction at a time per producer, shared by the partitions
 * consumed concurrently: batches that finish while a transaction is in flight
 * ride together in the next one (their verdicts and their offsets commit
 * atomically). A failed transaction is aborted and every batch in it fails,
 * so kafkajs redelivers them.
 */
export function createTransactionCommitter(producer: Producer, consumerGroupId: string): (commit: PendingCommit) => Promise<void> {
  let queue: { commit: PendingCommit; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let inFlight = false;

  async function flush(): Promise<void> {
    inFlight = true;
    while (queue.length > 0) {
      const batch = queue;
      queue = [];
      const transaction = await producer.transaction().catch((err: unknown) => {
        for (const b of batch) b.reject(err);
        return undefined;
      });
      if (!transaction) continue;
      try {
        const byTopic = new Map<string, Message[]>();
        const offsets = new Map<string, Map<number, bigint>>();
        for (const { commit } of batch) {
          for (const [topic, messages] of commit.messages) byTopic.set(topic, [...(byTopic.get(topic) ?? []), ...messages]);
          const partitions = offsets.get(commit.offset.topic) ?? new Map<number, bigint>();
          const next = BigInt(commit.offset.offset);
          if ((partitions.get(commit.offset.partition) ?? -1n) < next) partitions.set(commit.offset.partition, next);
          offsets.set(commit.offset.topic, partitions);
        }
        if (byTopic.size > 0) await transaction.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
        await transaction.sendOffsets({
          consumerGroupId,
          topics: [...offsets].map(([topic, partitions]) => ({ topic, partitions: [...partitions].map(([partition, offset]) => ({ partition, offset: offset.toString() })) })),
        });
        await transaction.commit();
        for (const b of batch) b.resolve();
      } catch (err) {
        await transaction.abort().catch(() => undefined);
        for (const b of batch) b.reject(err);
      }
    }
    inFlight = false;
  }

  return (commit) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ commit, resolve, reject });
      if (!inFlight) void flush();
    });
}
