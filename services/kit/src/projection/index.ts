export { createPool, inTransaction, schemaIdent, type Pool, type PoolClient } from './pg.ts';
export { projectionMetrics, type ProjectionMetrics } from './metrics.ts';
export { runProjection, migrateProjection, oneOffGroup, type ProjectionDefinition, type ProjectedEvent, type ProjectionRunnerOptions, type RunningProjection } from './runner.ts';
export { rebuildProjection, rebuildWindow, type StartProjectionOptions } from './rebuild.ts';
export { partitionStatus, emptyStatus, type ProjectionStatus, type PartitionPosition } from './status.ts';
export { upsertRows, loadRows, unnestSource, pgTextArray, type TableShape, type ColumnType } from './set-write.ts';
