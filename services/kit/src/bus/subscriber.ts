import type { Consumer, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { topics, type EventOf, type TopicKey } from '@portcullis/schemas';
import { describeError, PortcullisError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { EventCodec } from './schema-registry.ts';
import type { TopicNames } from './names.ts';
import { deadLetterRecord } from './dead-letter.ts';
import { gatewayMetrics } from '../operability/metrics.ts';

export interface DeliveredEvent<K extends TopicKey> {
  topicKey: K;
  event: EventOf<K>;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
}

export interface DeadLetter {
  topic: string;
  partition: number;
  offset: string;
  reason: string;
}

export interface SubscriptionOptions<K extends TopicKey> {
  /** Consumer group (namespaced with the bus's topic namespace). */
  groupId: string;
  topics: K[];
  handler: (delivery: DeliveredEvent<K>) => Promise<void>;
  fromBeginning?: boolean;
  /** Attempts of the handler before the message goes to the dead-letter topic. */
  attempts?: number;
  retryBackoffMs?: number;
  onDeadLetter?: (letter: DeadLetter) => void;
  /** Partitions handled at the same time (order is kept within a partition). */
  partitionsConsumedConcurrently?: number;
  /** Long-poll bound; the broker answers as soon as one byte is there. */
  maxWaitTimeInMs?: number;
  /**
   * Looked at before decoding: a message it refuses is skipped (its offset
   * passes) without being decoded or handled. For consumers that want a few
   * messages of a busy topic (a proxy waiting for its held commands' verdicts).
   */
  accept?: (message: KafkaMessage) => boolean;
  /** How metrics and readiness name this consumer (default: the group id); stable across restarts. */
  name?: string;
}

export interface Subscription {
  consumer: Consumer;
  /** The consumer's name in metrics and readiness. */
  name: string;
  /** Why the consumer stopped for good (kafkajs crashed without restarting), or undefined while it runs. */
  crashed(): string | undefined;
  /** Resolves once the consumer has joined its group and been assigned partitions. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

interface Deps {
  kafka: Kafka;
  codec: EventCodec;
  names: TopicNames;
  logger: Logger;
  producer: Producer;
}

/**
 * At-least-once consumption: an offset is committed only after its handler
 * finished. A message that cannot be decoded (not the wire format, unknown
 * schema id, fails validation) goes straight to the dead-letter topic; a
 * handler that keeps failing goes there after `attempts`. Either way the
 * consumer carries on with the next message: one bad message never stops it.
 */
export async function startSubscription<K extends TopicKey>(options: SubscriptionOptions<K> & Deps): Promise<Subscription> {
  const { kafka, codec, names, logger, producer, handler, attempts = 3, retryBackoffMs = 100 } = options;
  const groupId = names.group(options.groupId);
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 250,
    minBytes: 1,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    allowAutoTopicCreation: false,
    readUncommitted: false,
    retry: { retries: 10 },
  });
  let resolveReady!: () => void;
  const ready = new Promise<void>((r) => (resolveReady = r));
  consumer.on(consumer.events.GROUP_JOIN, () => resolveReady());
  const name = options.name ?? options.groupId;
  let crash: string | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) crash = payload.error.message;
  });
  // Lag after each batch: how far this consumer is from the end of the partition.
  const lag = gatewayMetrics().consumerLag;
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const key = names.keyOf(payload.topic);
    lag.set({ consumer: name, topic: key ? topics[key].name : payload.topic, partition: String(payload.partition) }, Number(payload.offsetLag));
  });

  const topicNamesList = options.topics.map((k) => names.of(k));
  await consumer.connect();
  await consumer.subscribe({ topics: topicNamesList, fromBeginning: options.fromBeginning ?? false });

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string): Promise<void> {
    logger.warn({ topic, partition, offset: message.offset, reason }, 'message sent to the dead-letter topic');
    await producer.send({ topic: names.deadLetter, acks: -1, messages: [deadLetterRecord({ topic, partition, group: groupId }, message, reason)] });
    options.onDeadLetter?.({ topic, partition, offset: message.offset, reason });
  }

  async function handle(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const topicKey = names.keyOf(topic) as K | undefined;
    if (!topicKey) return deadLetter(topic, partition, message, `no contract for topic ${topic}`);
    let event: EventOf<K>;
    try {
      event = (await codec.decode(topicKey, message.value)) as EventOf<K>;
    } catch (err) {
      return deadLetter(topic, partition, message, describeError(err));
    }
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        await handler({ topicKey, event, topic, partition, offset: message.offset, key: message.key?.toString() ?? null });
        return;
      } catch (err) {
        lastError = err;
        const retriable = !(err instanceof PortcullisError) || err.retriable;
        logger.warn({ topic, partition, offset: message.offset, attempt, err: describeError(err) }, 'event handler failed');
        if (!retriable) break;
        if (attempt < attempts) await new Promise((r) => setTimeout(r, retryBackoffMs * 2 ** (attempt - 1)));
      }
    }
    await deadLetter(topic, partition, message, `handler failed: ${describeError(lastError)}`);
  }

  await consumer.run({
    autoCommit: true,
    partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 1,
    autoCommitInterval: 1000,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
      for (const message of batch.messages) {
        if (!isRunning() || isStale()) break;
        if (options.accept && !options.accept(message)) {
          resolveOffset(message.offset);
          continue;
        }
        await handle(batch.topic, batch.partition, message);
        resolveOffset(message.offset);
        await heartbeat();
      }
      await commitOffsetsIfNecessary();
    },
  });

  return {
    consumer,
    name,
    crashed: () => crash,
    ready,
    stop: async () => {
      await consumer.disconnect().catch(() => undefined);
    },
  };
}
