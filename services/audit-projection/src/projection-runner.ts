/**
 * Runs a projection: a Kafka consumer whose every batch is applied to
 * PostgreSQL together with the consumer checkpoint in ONE transaction.
 *
 *   checkpoints(consumer, topic, partition, next_offset)
 *
 * The checkpoint table, not the Kafka group offset, says where the projection
 * is: on every batch the runner compares the batch's first offset with the
 * checkpoint, skips what is already applied and seeks back when the group
 * offset ran ahead (a rebuilt schema, a restored backup). Kafka offsets are
 * still committed after each batch, so lag shows up in the usual tools.
 *
 * Events that cannot be decoded or validated go to the dead-letter topic with
 * the reason in headers; the projection counts them and carries on.
 */
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { newId, type EventOf, type TopicKey } from '@portcullis/schemas';
import { deadLetterRecord, describeError, type Bus, type Logger } from '@portcullis/kit';
import { inTransaction, schemaIdent, type Pool, type PoolClient } from './db.ts';
import { projectionMetrics, type ProjectionMetrics } from './metrics.ts';

export interface ProjectedEvent<K extends TopicKey = TopicKey> {
  topicKey: K;
  event: EventOf<K>;
  partition: number;
  offset: string;
}

/** What a projection is: the topics it reads, its tables, and how a batch of events changes them. */
export interface ProjectionDefinition {
  /** Consumer name in the checkpoint table and in the Kafka group id. */
  name: string;
  topics: TopicKey[];
  /** Creates the projection's tables in `schema` (idempotent). Runs inside a transaction. */
  migrate(client: PoolClient, schema: string): Promise<void>;
  /** Applies the events of one Kafka batch, in offset order. Runs inside the checkpoint's transaction. */
  apply(client: PoolClient, schema: string, events: ProjectedEvent[]): Promise<void>;
}

export interface ProjectionRunnerOptions {
  bus: Bus;
  pool: Pool;
  logger: Logger;
  schema: string;
  definition: ProjectionDefinition;
  metrics?: ProjectionMetrics;
  /** Kafka consumer group (before the bus namespace); default portcullis-<name>-projection. */
  groupId?: string;
  maxWaitTimeInMs?: number;
}

export interface RunningProjection {
  /** Resolves when the projection has applied everything that was in its topics when it started. */
  caughtUp: Promise<void>;
  /** Resolves when the projection has applied everything in its topics now. */
  catchUp(timeoutMs?: number): Promise<void>;
  metrics: ProjectionMetrics;
  stop(): Promise<void>;
}

export async function migrateProjection(pool: Pool, schema: string, definition: ProjectionDefinition): Promise<void> {
  const s = schemaIdent(schema);
  await inTransaction(pool, async (client) => {
    // Two processes starting at once must not race on CREATE.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis-migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.checkpoints (
      consumer text NOT NULL, topic text NOT NULL, partition int NOT NULL, next_offset bigint NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, topic, partition))`);
    await definition.migrate(client, schema);
  });
}

export async function runProjection(options: ProjectionRunnerOptions): Promise<RunningProjection> {
  const { bus, pool, logger, schema, definition } = options;
  const metrics = options.metrics ?? projectionMetrics();
  const s = schemaIdent(schema);
  const label = definition.name;
  await bus.connect();
  await migrateProjection(pool, schema, definition);

  const topicNames = definition.topics.map((k) => bus.names.of(k));
  /** next offset to apply, per "topic:partition" — the checkpoint as committed. */
  const checkpoints = new Map<string, bigint>();
  /** Highest high watermark a processed batch reached with no lag left (transaction markers are never delivered). */
  const reachedEnd = new Map<string, bigint>();
  const soughtBack = new Set<string>();
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string }>(
    `SELECT topic, partition, next_offset FROM ${s}.checkpoints WHERE consumer = $1`,
    [definition.name],
  );
  for (const r of rows) checkpoints.set(`${r.topic}:${r.partition}`, BigInt(r.next_offset));

  const producer: Producer = bus.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const consumer: Consumer = bus.kafka.consumer({
    groupId: bus.names.group(options.groupId ?? `portcullis-${definition.name}-projection`),
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 250,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    allowAutoTopicCreation: false,
    readUncommitted: false,
    // Large fetches make large batches: one transaction per batch is what makes the projection fast.
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 32 * 1024 * 1024,
  });
  await consumer.connect();
  await consumer.subscribe({ topics: topicNames, fromBeginning: true });

  // Start each assigned partition at its checkpoint, whatever the group offset says.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    for (const [topic, partitions] of Object.entries(payload.memberAssignment)) {
      for (const partition of partitions) {
        const key = `${topic}:${partition}`;
        soughtBack.add(`${key}@${checkpoints.get(key) ?? 0n}`);
        consumer.seek({ topic, partition, offset: String(checkpoints.get(key) ?? 0n) });
      }
    }
  });

  async function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string): Promise<void> {
    logger.warn({ projection: label, topic, partition, offset: message.offset, reason }, 'event sent to the dead-letter topic');
    await producer.send({ topic: bus.names.deadLetter, acks: -1, messages: [deadLetterRecord({ topic, partition, group: `projection:${definition.name}` }, message, reason)] });
    metrics.deadLetters.inc({ projection: label, topic });
    metrics.errors.inc({ projection: label, kind: 'dead-letter' });
  }

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const key = `${topic}:${partition}`;
    const checkpoint = checkpoints.get(key) ?? 0n;
    const first = batch.messages[0];
    if (!first || !isRunning() || isStale()) return;
    if (BigInt(first.offset) > checkpoint && !soughtBack.has(`${key}@${checkpoint}`)) {
      // The group offset is ahead of the view (e.g. the schema was rebuilt): go back to the checkpoint, once.
      soughtBack.add(`${key}@${checkpoint}`);
      consumer.seek({ topic, partition, offset: String(checkpoint) });
      return;
    }
    const topicKey = bus.names.keyOf(topic);
    const fresh = batch.messages.filter((m) => BigInt(m.offset) >= checkpoint);
    const events: ProjectedEvent[] = [];
    for (const message of fresh) {
      if (!topicKey) {
        await deadLetter(topic, partition, message, `no contract for topic ${topic}`);
        continue;
      }
      try {
        const event = await bus.codec.decode(topicKey, message.value);
        events.push({ topicKey, event, partition, offset: message.offset });
      } catch (err) {
        await deadLetter(topic, partition, message, describeError(err));
      }
    }
    const last = batch.messages[batch.messages.length - 1]!;
    const next = BigInt(last.offset) + 1n;
    if (next > checkpoint) {
      try {
        await inTransaction(pool, async (client) => {
          // One writer per view at a time: a session's events come from several topics and partitions.
          await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis-projection:${schema}:${definition.name}`]);
          if (events.length > 0) await definition.apply(client, schema, events);
          await client.query(
            `INSERT INTO ${s}.checkpoints (consumer, topic, partition, next_offset) VALUES ($1, $2, $3, $4)
             ON CONFLICT (consumer, topic, partition) DO UPDATE SET next_offset = GREATEST(${s}.checkpoints.next_offset, EXCLUDED.next_offset), updated_at = now()`,
            [definition.name, topic, partition, String(next)],
          );
        });
      } catch (err) {
        metrics.errors.inc({ projection: label, kind: 'batch' });
        logger.error({ projection: label, topic, partition, err: describeError(err) }, 'applying a batch failed; it will be retried');
        throw err;
      }
      checkpoints.set(key, next);
      for (const e of events) metrics.eventsProcessed.inc({ projection: label, type: (e.event as { type: string }).type });
    }
    resolveOffset(last.offset);
    await consumer.commitOffsets([{ topic, partition, offset: String(next) }]).catch(() => undefined);
    const high = BigInt(batch.highWatermark);
    metrics.consumerLag.set({ projection: label, topic, partition: String(partition) }, Number(high > next ? high - next : 0n));
    if (BigInt(batch.offsetLag()) <= 0n) reachedEnd.set(key, high);
    await heartbeat();
  }

  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });

  function position(key: string): bigint {
    const a = checkpoints.get(key) ?? 0n;
    const b = reachedEnd.get(key) ?? 0n;
    return a > b ? a : b;
  }

  async function endOffsets(): Promise<Map<string, bigint>> {
    const admin = await bus.admin();
    const ends = new Map<string, bigint>();
    for (const topic of topicNames) {
      for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}:${p.partition}`, BigInt(p.high));
    }
    return ends;
  }

  async function waitFor(ends: Map<string, bigint>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if ([...ends].every(([key, end]) => position(key) >= end)) return;
      if (Date.now() > deadline) {
        const behind = [...ends].filter(([key, end]) => position(key) < end).map(([key, end]) => `${key} at ${position(key)} of ${end}`);
        throw new Error(`projection ${definition.name} did not catch up within ${timeoutMs} ms (${behind.join(', ')})`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const startEnds = await endOffsets();
  const caughtUp = waitFor(startEnds, 24 * 3600_000);
  caughtUp.catch(() => undefined);
  let stopped = false;
  return {
    caughtUp,
    metrics,
    async catchUp(timeoutMs = 20_000) {
      await waitFor(await endOffsets(), timeoutMs);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}

/** A Kafka group id nobody else uses: for rebuilds, which must not share partitions with the live projection. */
export const oneOffGroup = (name: string): string => `portcullis-${name}-rebuild-${newId()}`;
