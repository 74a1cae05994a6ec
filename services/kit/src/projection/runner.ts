/**
 * Runs a projection: a Kafka consumer whose batches are applied to
 * PostgreSQL together with the consumer checkpoints in ONE transaction.
 *
 *   checkpoints(consumer, topic, partition, next_offset, applied_until)
 *
 * The checkpoint table, not the Kafka group offset, says where the projection
 * is: on every batch the runner compares the batch's first offset with the
 * checkpoint, skips what is already applied and seeks back when the group
 * offset ran ahead (a rebuilt schema, a restored backup). Kafka offsets are
 * still committed after each transaction, so lag shows up in the usual tools.
 *
 * Batches of several partitions fetched together are applied together
 * (group commit): kafkajs hands them to `eachBatch` concurrently, and those
 * that arrive while a transaction is in flight ride in the next one. A
 * session's events come from several topics, so one transaction usually
 * holds all of them, and the per-session work (hash chain) is done once.
 *
 * Events that cannot be decoded or validated go to the dead-letter topic with
 * the reason in headers; the projection counts them and carries on.
 */
import type { Consumer, EachBatchPayload, KafkaMessage, Producer } from 'kafkajs';
import { newId, type EventOf, type TopicKey } from '@portcullis/schemas';
import type { Bus } from '../bus/bus.ts';
import { deadLetterRecord } from '../bus/dead-letter.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { inTransaction, schemaIdent, type Pool, type PoolClient } from './pg.ts';
import { projectionMetrics, type ProjectionMetrics } from './metrics.ts';
import { emptyStatus, partitionStatus, type PartitionPosition, type ProjectionStatus } from './status.ts';

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
  /**
   * Version of the view's shape. A view built by another version is dropped
   * (its `tables` and checkpoints) and rebuilt from the log when the
   * projection starts: views are disposable, the log is the record.
   */
  version?: number;
  /** Tables of the view, dropped when the version changes (include tables of older versions). */
  tables?: string[];
  /** Creates the projection's tables in `schema` (idempotent). Runs inside a transaction. */
  migrate(client: PoolClient, schema: string): Promise<void>;
  /**
   * Applies the events of one or more Kafka batches: each partition's events
   * in offset order, partitions one after another. Runs inside the
   * checkpoints' transaction.
   */
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
  /** Upper bound of one partition's batch in bytes (default 8 MiB); small values cut batches small (tests). */
  maxBytesPerPartition?: number;
  /**
   * Events decoded and queued at a time from one partition's batch (default:
   * the whole batch), so a transaction can start while the rest is decoded.
   * Not the default: the audit measured worse with it (12.3 s of CPU instead
   * of 7.2 s for 100,000 events at 2,500/10,000) — a session's events then
   * span transactions and its hash chain goes through chain_pending.
   */
  decodeChunkEvents?: number;
  /** Events per transaction, at most unless one chunk is bigger (default: everything queued). */
  maxTransactionEvents?: number;
  /** How often lag is sampled from the brokers' end offsets (default 1000 ms; 0: never). */
  statusIntervalMs?: number;
  /**
   * Only events in this time window (Kafka timestamps, ms): partitions
   * without a checkpoint start at the first offset at `from`, and messages
   * from `to` on are passed over. For rebuilding a window of history.
   */
  window?: { from: number; to: number };
  /** Name of this run's rows in the checkpoint table (default: the projection's name). */
  checkpointName?: string;
}

export interface RunningProjection {
  /** Resolves when the projection has applied everything that was in its topics when it started. */
  caughtUp: Promise<void>;
  /** Resolves when the projection has applied everything in its topics now. */
  catchUp(timeoutMs?: number): Promise<void>;
  /** How current the view is, as of the last lag sample (see status.ts). */
  status(): ProjectionStatus;
  /** Samples the end offsets now and returns the fresh status. */
  refreshStatus(): Promise<ProjectionStatus>;
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
    // Kafka timestamp of the last message applied: how far the view reaches on this partition.
    await client.query(`ALTER TABLE ${s}.checkpoints ADD COLUMN IF NOT EXISTS applied_until timestamptz`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${s}.view_versions (consumer text PRIMARY KEY, version int NOT NULL)`);
    const version = definition.version ?? 1;
    const { rows } = await client.query<{ version: number | null; applied: boolean }>(
      `SELECT (SELECT version FROM ${s}.view_versions WHERE consumer = $1) AS version,
              EXISTS (SELECT 1 FROM ${s}.checkpoints WHERE consumer = $1) AS applied`, [definition.name]);
    const built = rows[0]!.version ?? (rows[0]!.applied ? 1 : version);
    if (built !== version) {
      for (const table of definition.tables ?? []) await client.query(`DROP TABLE IF EXISTS ${s}.${schemaIdent(table)} CASCADE`);
      await client.query(`DELETE FROM ${s}.checkpoints WHERE consumer = $1`, [definition.name]);
    }
    await definition.migrate(client, schema);
    await client.query(
      `INSERT INTO ${s}.view_versions (consumer, version) VALUES ($1, $2) ON CONFLICT (consumer) DO UPDATE SET version = EXCLUDED.version`,
      [definition.name, version]);
  });
}

/** One partition's batch, decoded and waiting for its transaction. */
interface Pending {
  topic: string;
  partition: number;
  events: ProjectedEvent[];
  /** Checkpoint after the batch. */
  next: bigint;
  /** Kafka timestamp (ms) of the batch's last message. */
  lastTimestamp: number;
  /** High watermark when the batch left no lag: the partition's end once this commits (transaction markers are never delivered). */
  end?: bigint;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export async function runProjection(options: ProjectionRunnerOptions): Promise<RunningProjection> {
  const { bus, pool, logger, schema, definition } = options;
  const metrics = options.metrics ?? projectionMetrics();
  const s = schemaIdent(schema);
  const label = definition.name;
  const consumerName = options.checkpointName ?? definition.name;
  await bus.connect();
  await migrateProjection(pool, schema, definition);

  const topicNames = definition.topics.map((k) => bus.names.of(k));
  const started = Date.now();
  /** next offset to apply, per "topic:partition" — the checkpoint as committed. */
  const checkpoints = new Map<string, bigint>();
  /** Kafka timestamp (ms) of the last message applied, per "topic:partition". */
  const appliedUntil = new Map<string, number>();
  /** Highest high watermark a processed batch reached with no lag left (transaction markers are never delivered). */
  const reachedEnd = new Map<string, bigint>();
  const soughtBack = new Set<string>();
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string; applied_until: string | null }>(
    `SELECT topic, partition, next_offset, applied_until FROM ${s}.checkpoints WHERE consumer = $1`,
    [consumerName],
  );
  for (const r of rows) {
    checkpoints.set(`${r.topic}:${r.partition}`, BigInt(r.next_offset));
    if (r.applied_until) appliedUntil.set(`${r.topic}:${r.partition}`, Date.parse(r.applied_until));
  }
  if (options.window) {
    // A window starts where its first event is: the offset of `from` in each partition not started yet.
    const admin = await bus.admin();
    for (const topic of topicNames) {
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, options.window.from)) {
        const key = `${topic}:${p.partition}`;
        if (!checkpoints.has(key) && BigInt(p.offset) >= 0n) checkpoints.set(key, BigInt(p.offset));
      }
    }
  }

  const producer: Producer = bus.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const consumer: Consumer = bus.kafka.consumer({
    groupId: bus.names.group(options.groupId ?? `portcullis-${definition.name}-projection`),
    maxWaitTimeInMs: options.maxWaitTimeInMs ?? 250,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    allowAutoTopicCreation: false,
    readUncommitted: false,
    // Large fetches make large batches: one transaction per fetch is what makes the projection fast.
    maxBytesPerPartition: options.maxBytesPerPartition ?? 8 * 1024 * 1024,
    maxBytes: 64 * 1024 * 1024,
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

  // Group commit: batches that arrive while a transaction is in flight are applied together in the next one.
  let queue: Pending[] = [];
  let flushing = false;

  async function commit(group: Pending[]): Promise<void> {
    const events = group.flatMap((p) => p.events);
    // One checkpoint row per partition (pipelined batches of one partition can share a transaction): the last one.
    const marks = [...new Map(group.map((p) => [`${p.topic}:${p.partition}`, p])).values()];
    await inTransaction(pool, async (client) => {
      // One writer per view at a time: a session's events come from several topics and partitions.
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`portcullis-projection:${schema}:${definition.name}`]);
      if (events.length > 0) await definition.apply(client, schema, events);
      await client.query(
        `INSERT INTO ${s}.checkpoints (consumer, topic, partition, next_offset, applied_until)
         SELECT $1, c.topic, c.partition, c.next_offset, to_timestamp(c.until_ms / 1000.0)
           FROM unnest($2::text[], $3::int[], $4::bigint[], $5::float8[]) AS c(topic, partition, next_offset, until_ms)
         ON CONFLICT (consumer, topic, partition) DO UPDATE
           SET next_offset = GREATEST(${s}.checkpoints.next_offset, EXCLUDED.next_offset),
               applied_until = GREATEST(${s}.checkpoints.applied_until, EXCLUDED.applied_until), updated_at = now()`,
        [consumerName, marks.map((p) => p.topic), marks.map((p) => p.partition), marks.map((p) => String(p.next)), marks.map((p) => p.lastTimestamp)],
      );
    });
    metrics.transactions.inc({ projection: label });
    for (const p of group) {
      const key = `${p.topic}:${p.partition}`;
      checkpoints.set(key, p.next);
      appliedUntil.set(key, Math.max(appliedUntil.get(key) ?? 0, p.lastTimestamp));
      if (p.end !== undefined) reachedEnd.set(key, p.end);
    }
    const counts = new Map<string, number>();
    for (const e of events) {
      const type = (e.event as { type: string }).type;
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    for (const [type, n] of counts) metrics.eventsProcessed.inc({ projection: label, type }, n);
  }

  async function flush(): Promise<void> {
    flushing = true;
    // Let every batch of the current fetch (handed to eachBatch concurrently) join this transaction.
    await new Promise((r) => setImmediate(r));
    while (queue.length > 0) {
      // A transaction takes the oldest batches up to MAX_TRANSACTION_EVENTS (at least one; by default all queued).
      let size = 0;
      let take = 0;
      while (take < queue.length && (take === 0 || size + queue[take]!.events.length <= MAX_TRANSACTION_EVENTS)) size += queue[take++]!.events.length;
      const group = queue.splice(0, take);
      try {
        await commit(group);
        for (const p of group) p.resolve();
      } catch (err) {
        metrics.errors.inc({ projection: label, kind: 'batch' });
        logger.error({ projection: label, batches: group.length, err: describeError(err) }, 'applying batches failed; they will be retried');
        // Batches already handed back to kafkajs (pipelined) are fetched again from the checkpoint.
        const failed = [...group, ...queue];
        queue = [];
        for (const p of failed) {
          const key = `${p.topic}:${p.partition}`;
          queued.delete(key);
          consumer.seek({ topic: p.topic, partition: p.partition, offset: String(checkpoints.get(key) ?? 0n) });
          p.reject(err);
        }
      }
    }
    flushing = false;
  }

  function enqueue(p: Omit<Pending, 'resolve' | 'reject'>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      queue.push({ ...p, resolve, reject });
      if (!flushing) void flush();
    });
  }

  /**
   * Next offset handed to a transaction not committed yet, per partition.
   * Pipelining: while one transaction is in PostgreSQL, the next fetch is
   * decoded and queued; eachBatch waits for its own commit only when much is
   * queued already (back pressure) — checkpoints still move only on commit.
   */
  const queued = new Map<string, bigint>();
  const MAX_QUEUED_EVENTS = 20_000;
  const MAX_TRANSACTION_EVENTS = options.maxTransactionEvents ?? Number.POSITIVE_INFINITY;
  const DECODE_CHUNK = options.decodeChunkEvents ?? Number.POSITIVE_INFINITY;
  const queuedEvents = (): number => queue.reduce((n, p) => n + p.events.length, 0);

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { topic, partition } = batch;
    const key = `${topic}:${partition}`;
    const inFlight = queued.get(key);
    const checkpoint = inFlight !== undefined && inFlight > (checkpoints.get(key) ?? 0n) ? inFlight : checkpoints.get(key) ?? 0n;
    const first = batch.messages[0];
    if (!first || !isRunning() || isStale()) return;
    if (inFlight === undefined && BigInt(first.offset) > checkpoint && !soughtBack.has(`${key}@${checkpoint}`)) {
      // The group offset is ahead of the view (e.g. the schema was rebuilt): go back to the checkpoint, once.
      soughtBack.add(`${key}@${checkpoint}`);
      consumer.seek({ topic, partition, offset: String(checkpoint) });
      return;
    }
    const topicKey = bus.names.keyOf(topic);
    let events: ProjectedEvent[] = [];
    /** End of the chunk this call queued last; a later chunk follows it only if nothing failed in between. */
    let previous: bigint | undefined;
    let broken = false;
    /** Queues what is decoded so far as one pending batch ending after `upTo`. */
    const queueChunk = async (upTo: KafkaMessage, end?: bigint): Promise<void> => {
      const chunkNext = BigInt(upTo.offset) + 1n;
      if (chunkNext <= checkpoint) return;
      if (previous !== undefined && (queued.get(key) ?? checkpoints.get(key) ?? 0n) !== previous) {
        // A transaction with an earlier chunk failed and the partition was sought back to its checkpoint:
        // queuing the rest would leave a hole. The fetch from the checkpoint brings it again.
        broken = true;
        return;
      }
      const committed = enqueue({ topic, partition, events, next: chunkNext, lastTimestamp: Number(upTo.timestamp), ...(end !== undefined ? { end } : {}) });
      events = [];
      previous = chunkNext;
      queued.set(key, chunkNext);
      committed.then(() => { if (queued.get(key) === chunkNext) queued.delete(key); }, () => undefined);
      if (queuedEvents() > MAX_QUEUED_EVENTS) await committed;
    };
    for (const message of batch.messages) {
      if (BigInt(message.offset) < checkpoint) continue;
      if (options.window && Number(message.timestamp) >= options.window.to) continue;
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
      if (events.length >= DECODE_CHUNK && message !== batch.messages[batch.messages.length - 1]) {
        await queueChunk(message);
        if (broken) return;
        // Decoding runs on microtasks: let the transaction of what is queued start before decoding on.
        await new Promise((r) => setImmediate(r));
      }
    }
    const last = batch.messages[batch.messages.length - 1]!;
    await queueChunk(last, BigInt(batch.offsetLag()) <= 0n ? BigInt(batch.highWatermark) : undefined);
    if (broken) return;
    const next = BigInt(last.offset) + 1n;
    resolveOffset(last.offset);
    await consumer.commitOffsets([{ topic, partition, offset: String(next) }]).catch(() => undefined);
    await heartbeat();
  }

  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 64, eachBatch });

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

  let status: ProjectionStatus = emptyStatus(label);
  async function refreshStatus(): Promise<ProjectionStatus> {
    const ends = await endOffsets();
    const now = Date.now();
    const partitions: PartitionPosition[] = [...ends].map(([key, end]) => {
      const cut = key.lastIndexOf(':');
      return partitionStatus({ topic: key.slice(0, cut), partition: Number(key.slice(cut + 1)), position: position(key), end, appliedUntil: appliedUntil.get(key), now, since: started });
    });
    for (const p of partitions) {
      const labels = { projection: label, topic: p.topic, partition: String(p.partition) };
      metrics.consumerLag.set(labels, p.lag);
      metrics.secondsBehind.set(labels, p.secondsBehind);
    }
    status = { projection: label, sampledAt: new Date(now).toISOString(), ...summarise(partitions, now), partitions };
    return status;
  }
  let sampling: NodeJS.Timeout | undefined;
  const interval = options.statusIntervalMs ?? 1000;
  if (interval > 0) {
    sampling = setInterval(() => void refreshStatus().catch((err) => logger.debug({ projection: label, err: describeError(err) }, 'lag sample failed')), interval);
    sampling.unref();
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
    status: () => status,
    refreshStatus,
    async catchUp(timeoutMs = 20_000) {
      await waitFor(await endOffsets(), timeoutMs);
      await refreshStatus().catch(() => undefined);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (sampling) clearInterval(sampling);
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
    },
  };
}

function summarise(partitions: PartitionPosition[], now: number): Pick<ProjectionStatus, 'lag' | 'secondsBehind' | 'asOf'> {
  const lag = partitions.reduce((n, p) => n + p.lag, 0);
  const secondsBehind = partitions.reduce((m, p) => Math.max(m, p.secondsBehind), 0);
  return { lag, secondsBehind, asOf: new Date(now - secondsBehind * 1000).toISOString() };
}

/** A Kafka group id nobody else uses: for rebuilds, which must not share partitions with the live projection. */
export const oneOffGroup = (name: string): string => `portcullis-${name}-rebuild-${newId()}`;
