export { startAuditProjection, rebuildAuditProjection, rebuildProjection, DEFAULT_AUDIT_SCHEMA, type StartProjectionOptions } from './projection.ts';
export { runProjection, migrateProjection, oneOffGroup, type ProjectionDefinition, type ProjectedEvent, type RunningProjection } from './projection-runner.ts';
export { projectionMetrics, type ProjectionMetrics } from './metrics.ts';
export { createPool, inTransaction, schemaIdent, type Pool, type PoolClient } from './db.ts';
export { auditProjection, AUDIT_TOPICS } from './audit/tables.ts';
export { continueChain } from './audit/integrity.ts';
export * from './audit/evolve.ts';
export type * from './audit/rows.ts';
