import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import { schemaIdent, type Pool } from './pg.ts';
import type { ProjectionMetrics } from './metrics.ts';
import { newId } from '@portcullis/schemas';
import { oneOffGroup, runProjection, type ProjectionDefinition } from './runner.ts';

export interface StartProjectionOptions {
  bus: Bus;
  pool: Pool;
  logger: Logger;
  /** PostgreSQL schema of the view; tests use one each. */
  schema?: string;
  metrics?: ProjectionMetrics;
  groupId?: string;
  /** Upper bound of one partition's batch in bytes (tests cut batches small with it). */
  maxBytesPerPartition?: number;
  /** Events decoded and queued at a time from one partition's batch (default: the whole batch; see runner.ts). */
  decodeChunkEvents?: number;
  /** Events per transaction, at most unless one chunk is bigger (default: everything queued). */
  maxTransactionEvents?: number;
}

/**
 * Drops a projection's schema and builds it again from offset 0, with a
 * Kafka group of its own, and returns once it has caught up with the topics.
 * Stop the live projection first (or let it follow: its writes are idempotent
 * and the checkpoints written here are ahead of its own).
 */
export async function rebuildProjection(options: StartProjectionOptions & { definition: ProjectionDefinition; schema: string; timeoutMs?: number }): Promise<{ events: number; ms: number }> {
  const started = Date.now();
  await options.pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(options.schema)} CASCADE`);
  const running = await runProjection({ ...options, statusIntervalMs: 0, groupId: options.groupId ?? oneOffGroup(options.definition.name) });
  try {
    await running.catchUp(options.timeoutMs ?? 600_000);
    const processed = await running.metrics.eventsProcessed.get();
    const events = processed.values.filter((v) => v.labels.projection === options.definition.name).reduce((n, v) => n + v.value, 0);
    return { events, ms: Date.now() - started };
  } finally {
    await running.stop();
  }
}

/**
 * Applies the events of a time window [from, to) (Kafka timestamps) from the
 * log to `schema`, the live view's or one of its own, and returns once the
 * window is applied. Nothing is dropped: applying an event the view already
 * holds changes nothing, so a window can restore what retention pruned.
 * Sessions that straddle the window's edges come back partial (and say so:
 * integrity "gap").
 */
export async function rebuildWindow(options: StartProjectionOptions & { definition: ProjectionDefinition; schema: string; from: Date; to: Date; timeoutMs?: number }): Promise<{ events: number; ms: number }> {
  const started = Date.now();
  const checkpointName = `${options.definition.name}-window-${newId()}`;
  const running = await runProjection({
    ...options, statusIntervalMs: 0, checkpointName, groupId: options.groupId ?? oneOffGroup(options.definition.name),
    window: { from: options.from.getTime(), to: options.to.getTime() },
  });
  try {
    await running.catchUp(options.timeoutMs ?? 600_000);
    const processed = await running.metrics.eventsProcessed.get();
    const events = processed.values.filter((v) => v.labels.projection === options.definition.name).reduce((n, v) => n + v.value, 0);
    return { events, ms: Date.now() - started };
  } finally {
    await running.stop();
    await options.pool.query(`DELETE FROM ${schemaIdent(options.schema)}.checkpoints WHERE consumer = $1`, [checkpointName]);
  }
}
