/**
 * Reads the recorded history for what-if straight from the log: the commands
 * and verdicts topics, from the offsets of `since` (Kafka's time index) up to
 * the end offsets noted when reading starts. The log, not the audit
 * projection, is the source: it is complete by construction and never behind.
 */
import type { Consumer } from 'kafkajs';
import { newId, type CommandRequested, type VerdictIssued } from '@portcullis/schemas';
import { PortcullisError, type Bus } from '@portcullis/kit';

export interface HistoryHandlers {
  onCommand(command: CommandRequested): Promise<void>;
  onVerdict(verdict: VerdictIssued): void;
  /** Called now and then with the number of records read and the total to read. */
  onProgress?(read: number, total: number): void;
}

export interface HistoryRange {
  /** ISO time; the default is the beginning of the log. */
  since?: string;
}

interface PartitionRange {
  topic: string;
  partition: number;
  start: bigint;
  end: bigint;
}

async function rangesOf(bus: Bus, topic: string, sinceMs: number | undefined): Promise<PartitionRange[]> {
  const admin = await bus.admin();
  const ends = await admin.fetchTopicOffsets(topic);
  const starts = sinceMs === undefined ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, sinceMs);
  return ends.map((p) => {
    const fromTime = starts?.find((s) => s.partition === p.partition)?.offset;
    // Kafka answers -1 when no record is at or after the time: nothing to read.
    const start = fromTime === undefined ? BigInt(p.low) : BigInt(fromTime) < 0n ? BigInt(p.high) : BigInt(fromTime);
    return { topic, partition: p.partition, start: start < BigInt(p.low) ? BigInt(p.low) : start, end: BigInt(p.high) };
  });
}

/** Streams the history through the handlers; resolves when every partition is read to its noted end. */
export async function readHistory(bus: Bus, range: HistoryRange, handlers: HistoryHandlers): Promise<{ records: number }> {
  await bus.connect();
  const commandsTopic = bus.names.of('commands');
  const verdictsTopic = bus.names.of('verdicts');
  const sinceMs = range.since === undefined ? undefined : Date.parse(range.since);
  const ranges = [...(await rangesOf(bus, commandsTopic, sinceMs)), ...(await rangesOf(bus, verdictsTopic, sinceMs))];
  const pending = new Map(ranges.filter((r) => r.end > r.start).map((r) => [`${r.topic}/${r.partition}`, r]));
  const total = Number([...pending.values()].reduce((n, r) => n + (r.end - r.start), 0n));
  if (pending.size === 0) return { records: 0 };

  let records = 0;
  let consumer: Consumer | undefined;
  try {
    consumer = bus.kafka.consumer({ groupId: `portcullis-whatif-${newId()}`, maxWaitTimeInMs: 100, maxBytesPerPartition: 4 * 1024 * 1024 });
    await consumer.connect();
    await consumer.subscribe({ topics: [commandsTopic, verdictsTopic], fromBeginning: true });
    let failed: (err: Error) => void = () => undefined;
    let finished: () => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        const key = `${batch.topic}/${batch.partition}`;
        const r = pending.get(key);
        if (!r) return;
        try {
          for (const message of batch.messages) {
            if (!isRunning()) return;
            const offset = BigInt(message.offset);
            if (offset < r.start) continue;
            if (offset >= r.end) break;
            records += 1;
            if (batch.topic === commandsTopic) {
              const event = await bus.codec.decode('commands', message.value);
              if (event.type === 'CommandRequested') await handlers.onCommand(event);
            } else {
              const event = (await bus.codec.decode('verdicts', message.value)) as { type: string };
              if (event.type === 'VerdictIssued') handlers.onVerdict(event as VerdictIssued);
            }
            if (offset + 1n >= r.end) pending.delete(key);
          }
          handlers.onProgress?.(records, total);
          await heartbeat();
          if (pending.size === 0) finished();
        } catch (err) {
          failed(err as Error);
        }
      },
    });
    // The tail of a partition may be a transaction marker, which is never delivered:
    // a batch that leaves no lag has read everything there is.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      const key = `${payload.topic}/${payload.partition}`;
      if (pending.has(key) && BigInt(payload.offsetLag) <= 0n) pending.delete(key);
      if (pending.size === 0) finished();
    });
    for (const r of pending.values()) consumer.seek({ topic: r.topic, partition: r.partition, offset: r.start.toString() });
    await done;
  } catch (err) {
    if (err instanceof PortcullisError) throw err;
    throw new PortcullisError('PCL_ERR_BUS_UNAVAILABLE', `reading the history from the log failed: ${(err as Error).message}`, { cause: err });
  } finally {
    await consumer?.disconnect().catch(() => undefined);
  }
  return { records };
}
