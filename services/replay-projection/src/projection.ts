import { rebuildProjection, runProjection, type RunningProjection, type StartProjectionOptions } from '@portcullis/kit';
import { replayProjection } from './tables.ts';

export const DEFAULT_REPLAY_SCHEMA = 'replay';

export function startReplayProjection(options: StartProjectionOptions): Promise<RunningProjection> {
  return runProjection({ ...options, schema: options.schema ?? DEFAULT_REPLAY_SCHEMA, definition: replayProjection });
}

export function rebuildReplayProjection(options: StartProjectionOptions & { timeoutMs?: number }): Promise<{ events: number; ms: number }> {
  return rebuildProjection({ ...options, schema: options.schema ?? DEFAULT_REPLAY_SCHEMA, definition: replayProjection });
}
