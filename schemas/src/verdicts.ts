import { z } from 'zod';
import { envelope } from './envelope.ts';

export const Effect = z.enum(['allow', 'mask', 'block', 'hold']);
export type Effect = z.infer<typeof Effect>;

/** Content detectors the proxies run on every text value they mask. */
export const Detector = z.enum(['email', 'card', 'iban', 'ssn', 'phone', 'secret']);
export type Detector = z.infer<typeof Detector>;

export const MaskStrategy = z.enum(['partial', 'redact', 'null', 'hash']);

export const ProtectedColumn = z.object({
  /** Table as the policy names it; schema-qualified when the policy qualifies it. */
  table: z.string(),
  column: z.string(),
  strategy: MaskStrategy.default('partial'),
});

export const MaskSpec = z.object({
  /** Columns the policy protects (SQL). The proxy resolves them to table OID + attnum. */
  columns: z.array(ProtectedColumn).default([]),
  /** Protected columns this statement references. */
  referenced: z.array(ProtectedColumn).default([]),
  /**
   * True when the statement reaches a protected column through anything but a
   * plain column reference (expression, cast, `*`, whole-row, aggregate,
   * subquery, CTE): the proxy then masks every output column it cannot prove clean.
   */
  derived: z.boolean().default(false),
  /** JSON field names or paths to mask (HTTP). */
  fields: z.array(z.string()).default([]),
  detectors: z.array(Detector).default([]),
});
export type MaskSpec = z.infer<typeof MaskSpec>;

export const VerdictIssued = z.object({
  type: z.literal('VerdictIssued'),
  ...envelope,
  commandId: z.string().uuid(),
  effect: Effect,
  ruleIds: z.array(z.string()),
  reasons: z.array(z.string()),
  mask: MaskSpec.optional(),
  approvalId: z.string().uuid().optional(),
  policyVersion: z.number().int().nonnegative(),
  /** A hold verdict is provisional; the verdict after the approval closes is final. */
  final: z.boolean().default(true),
  /** Statement classes the analysis found, for audit queries ("read", "write", "ddl", …). */
  classes: z.array(z.string()).default([]),
  /**
   * Set on a block when the target's own parser could not have read the
   * command either (SQL: PostgreSQL's parser rejected it), so a proxy can
   * answer as the target would (PostgreSQL: SQLSTATE 42601 with this message
   * and position) instead of as a policy refusal. Nothing of it ran.
   */
  syntaxError: z
    .object({
      message: z.string().max(2000),
      /** 1-based character offset into the command text, as PostgreSQL's ErrorResponse field P counts. */
      position: z.number().int().positive().optional(),
    })
    .optional(),
  /** Who decided: `edge:<proxy instance>` for a proxy deciding at the edge, `pdp:<instance>` for the PDP. */
  decidedBy: z.string().min(1).max(200).optional(),
});
export type VerdictIssued = z.infer<typeof VerdictIssued>;

/**
 * The PDP, verifying a verdict a proxy issued at the edge, decided the same
 * command under the policy version the verdict names and came to another
 * result (a tampered, buggy or stale proxy). The command has already run or
 * been refused as the proxy decided; this event is for the audit.
 */
export const VerdictDisputed = z.object({
  type: z.literal('VerdictDisputed'),
  ...envelope,
  commandId: z.string().uuid(),
  /** eventId of the disputed VerdictIssued. */
  verdictEventId: z.string().uuid(),
  /** The disputed verdict's decidedBy. */
  decidedBy: z.string(),
  /** The policy version the disputed verdict names. */
  policyVersion: z.number().int().nonnegative(),
  issued: z.object({ effect: Effect, ruleIds: z.array(z.string()) }),
  /** What the verifier decided; absent when it could not decide under that version at all. */
  expected: z.object({ effect: Effect, ruleIds: z.array(z.string()), reasons: z.array(z.string()) }).optional(),
  reason: z.string(),
  verifiedBy: z.string(),
});
export type VerdictDisputed = z.infer<typeof VerdictDisputed>;

export const VerdictsTopicEvent = z.discriminatedUnion('type', [VerdictIssued, VerdictDisputed]);
export type VerdictsTopicEvent = z.infer<typeof VerdictsTopicEvent>;
