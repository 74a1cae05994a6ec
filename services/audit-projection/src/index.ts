export { startAuditProjection, rebuildAuditProjection, DEFAULT_AUDIT_SCHEMA } from './projection.ts';
export { auditProjection, AUDIT_TOPICS } from './audit/tables.ts';
export { continueChain } from './audit/integrity.ts';
export * from './audit/evolve.ts';
export type * from './audit/rows.ts';
export { buildApp, type QueryApiDeps } from './api/app.ts';
export { queryConfigFromEnv } from './config.ts';
export { parseDuration, pointInTime } from './api/durations.ts';
export { ErrorBody } from './api/schemas.ts';
