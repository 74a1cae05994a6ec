/**
 * How current a projection's view is. Per partition:
 *
 *   lag            = end offset − position (messages not applied yet)
 *   secondsBehind  = 0 when lag is 0, else the age of the last message applied
 *                    (the view holds every event of the partition up to that
 *                    moment; newer ones may be missing). Never applied anything:
 *                    time since the projection started.
 *
 * and for the view: total lag, the largest secondsBehind, and `asOf` = the
 * sample time minus that: every event written before `asOf` is in the view.
 */
export interface PartitionPosition {
  topic: string;
  partition: number;
  /** Next offset the projection will apply. */
  position: string;
  /** End offset of the partition when sampled. */
  end: string;
  lag: number;
  secondsBehind: number;
  /** Kafka timestamp of the last message applied. */
  appliedUntil: string | null;
}

export interface ProjectionStatus {
  projection: string;
  /** When the end offsets were read. */
  sampledAt: string | null;
  lag: number;
  secondsBehind: number;
  /** Every event written before this instant is in the view (null before the first sample). */
  asOf: string | null;
  partitions: PartitionPosition[];
}

export const emptyStatus = (projection: string): ProjectionStatus => ({ projection, sampledAt: null, lag: 0, secondsBehind: 0, asOf: null, partitions: [] });

export function partitionStatus(p: { topic: string; partition: number; position: bigint; end: bigint; appliedUntil: number | undefined; now: number; since: number }): PartitionPosition {
  const lag = p.end > p.position ? Number(p.end - p.position) : 0;
  const reference = p.appliedUntil ?? p.since;
  const secondsBehind = lag === 0 ? 0 : Math.max(0, (p.now - reference) / 1000);
  return {
    topic: p.topic, partition: p.partition, position: String(p.position), end: String(p.end), lag,
    secondsBehind: Math.round(secondsBehind * 1000) / 1000,
    appliedUntil: p.appliedUntil === undefined ? null : new Date(p.appliedUntil).toISOString(),
  };
}
