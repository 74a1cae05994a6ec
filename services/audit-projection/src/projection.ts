import { rebuildProjection, runProjection, type RunningProjection, type StartProjectionOptions } from '@portcullis/kit';
import { auditProjection } from './audit/tables.ts';

export const DEFAULT_AUDIT_SCHEMA = 'audit';

/** The audit view: sessions, commands with verdict and outcome, approvals, identities, integrity per session. */
export function startAuditProjection(options: StartProjectionOptions): Promise<RunningProjection> {
  return runProjection({ ...options, schema: options.schema ?? DEFAULT_AUDIT_SCHEMA, definition: auditProjection });
}

export function rebuildAuditProjection(options: StartProjectionOptions & { timeoutMs?: number }): Promise<{ events: number; ms: number }> {
  return rebuildProjection({ ...options, schema: options.schema ?? DEFAULT_AUDIT_SCHEMA, definition: auditProjection });
}
