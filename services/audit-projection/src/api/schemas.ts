/** Request and response schemas of the query API. A response lists its fields: anything else stays out of the answer. */
import { z } from 'zod';
import { ErrorBody } from '@portcullis/kit';

export { ErrorBody };

const ts = z.string().describe('ISO 8601 timestamp');
const limit = z.coerce.number().int().min(1).max(1000).default(100);
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

export const CommandQuery = z.object({
  effect: z.enum(['allow', 'mask', 'block', 'hold']).optional(),
  ruleId: z.string().optional(),
  statementClass: z.string().optional().describe('statement class the analysis found, e.g. write, ddl'),
  resource: z.string().optional(),
  identity: z.string().optional().describe('identity subject'),
  sessionId: z.string().optional(),
  from: ts.optional(),
  to: ts.optional(),
  q: z.string().max(500).optional().describe('text search in the command text (substring, case-insensitive)'),
  flagged: bool.optional().describe('only commands with an audit finding'),
  disputed: bool.optional().describe('only commands whose verdict the verifier disputed (true) or none (false)'),
  limit,
  cursor: z.string().optional(),
});
export type CommandQuery = z.infer<typeof CommandQuery>;

export const ExportQuery = CommandQuery.omit({ limit: true, cursor: true }).extend({ format: z.enum(['ndjson', 'csv']).default('ndjson') });

export const CommandItem = z.object({
  commandId: z.string(),
  sessionId: z.string(),
  seq: z.number().nullable(),
  at: z.string().nullable(),
  identity: z.object({ subject: z.string().nullable(), issuer: z.string().nullable(), kind: z.string().nullable() }),
  resource: z.string().nullable(),
  protocol: z.string().nullable(),
  kind: z.string().nullable(),
  text: z.string().nullable(),
  phase: z.string().nullable(),
  statementName: z.string().nullable(),
  parameters: z.array(z.string().nullable()).nullable(),
  reason: z.string().nullable(),
  verdict: z.object({
    effect: z.string().nullable(), final: z.boolean().nullable(), held: z.boolean(), ruleIds: z.array(z.string()), reasons: z.array(z.string()),
    classes: z.array(z.string()), policyVersion: z.number().nullable(), approvalId: z.string().nullable(), at: z.string().nullable(),
  }),
  outcome: z.object({
    status: z.string().nullable(), rows: z.number().nullable(), tag: z.string().nullable(), error: z.string().nullable(),
    durationMs: z.number().nullable(), at: z.string().nullable(),
  }),
  /** The command's OpenTelemetry trace id when the gateway exports traces (docs/operations.md#traces). */
  traceId: z.string().nullable(),
  dispute: z.object({
    eventId: z.string(), at: z.string().nullable(), reason: z.string().nullable(),
    expectedEffect: z.string().nullable().describe('what the verifier decided; null when it could not decide under the verdict\'s policy version'),
    decidedBy: z.string().nullable().describe('who issued the disputed verdict, e.g. edge:<proxy instance>'),
    verifiedBy: z.string().nullable(),
  }).nullable().describe('the verifier (policy-decision service) disagreed with the verdict the proxy issued: the earliest VerdictDisputed'),
  flags: z.array(z.enum(['no-verdict', 'no-outcome', 'executed-without-allow', 'disputed'])),
});
export type CommandItem = z.infer<typeof CommandItem>;

export const SessionQuery = z.object({
  identity: z.string().optional(),
  resource: z.string().optional(),
  protocol: z.enum(['postgres', 'ssh', 'http', 'mcp']).optional(),
  from: ts.optional(),
  to: ts.optional(),
  integrity: z.enum(['ok', 'gap', 'tampered']).optional(),
  hadBlocked: bool.optional().describe('sessions that had a blocked or held command (true) or none (false)'),
  effect: z.enum(['allow', 'mask', 'block', 'hold']).optional().describe('sessions that had a command with this verdict (hold: a command that was held, whatever its approval decided)'),
  disputed: bool.optional().describe('sessions with a verdict the verifier disputed (true) or none (false)'),
  limit,
  cursor: z.string().optional(),
});

export const SessionItem = z.object({
  sessionId: z.string(),
  protocol: z.string().nullable(),
  identity: z.object({ subject: z.string().nullable(), issuer: z.string().nullable(), kind: z.string().nullable(), groups: z.array(z.string()).nullable(), name: z.string().nullable() }),
  resource: z.object({ name: z.string().nullable(), kind: z.string().nullable(), tags: z.array(z.string()).nullable() }),
  clientAddress: z.string().nullable(),
  applicationName: z.string().nullable(),
  startedAt: z.string().nullable(),
  openedAt: z.string().nullable(),
  closedAt: z.string().nullable(),
  closeReason: z.string().nullable(),
  lastSeq: z.number(),
  integrity: z.object({
    status: z.enum(['ok', 'gap', 'tampered']),
    missingSeq: z.number().nullable(),
    tamperedSeq: z.number().nullable(),
    tamperedEventId: z.string().nullable(),
    detail: z.string(),
  }),
  commandCount: z.number(),
  blockedOrHeldCount: z.number(),
  flaggedCount: z.number(),
  disputed: z.boolean().describe('the verifier disputed a verdict issued in this session'),
});

/** How current the view is: every event written before `asOf` is in it (null: the view's freshness is unknown to this process). */
const asOf = z.string().nullable().describe('every event written before this instant is in the view (also in the Portcullis-As-Of header)');
export const Page = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable(), asOf });

const PartitionStatus = z.object({
  topic: z.string(), partition: z.number().int(), position: z.string(), end: z.string(), lag: z.number().int(),
  secondsBehind: z.number(), appliedUntil: z.string().nullable(),
});
export const StatusAnswer = z.object({
  asOf,
  projections: z.array(z.object({
    projection: z.string(), sampledAt: z.string().nullable(), lag: z.number().int().describe('events not applied yet'),
    secondsBehind: z.number().describe('0 when caught up, else the age of the last event applied'), asOf, partitions: z.array(PartitionStatus),
  })),
});

export const SessionDetail = SessionItem.extend({ commands: z.array(CommandItem) });

export const IdentityQuery = z.object({
  kind: z.enum(['human', 'service']).optional(),
  issuer: z.string().optional(),
  dormantSince: z.string().optional().describe('not seen since: an ISO timestamp or a duration like 30d, 12h'),
  resource: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(1000),
});

export const IdentityItem = z.object({
  subject: z.string(),
  issuer: z.string(),
  kind: z.string(),
  groups: z.array(z.string()),
  name: z.string().nullable(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  /** The revocation in force that covers this identity (itself, one of its last groups, its client), if any. */
  revoked: z.object({ target: z.string(), at: z.string(), by: z.string(), reason: z.string() }).nullable().optional(),
  resources: z.array(z.string()),
  commandCounts: z.record(z.string(), z.number()),
});

export const OverprivilegedQuery = z.object({
  window: z.string().default('30d').describe('look-back window for allowed commands, e.g. 30d'),
  ratio: z.coerce.number().min(0).max(1).default(0.34).describe('flag when used classes / admitted classes is at most this'),
});

export const OverprivilegedItem = z.object({
  subject: z.string(),
  issuer: z.string(),
  kind: z.string(),
  groups: z.array(z.string()),
  usedClasses: z.array(z.string()),
  admittedClasses: z.array(z.string()),
  unusedClasses: z.array(z.string()),
  usage: z.number(),
  allowRules: z.array(z.string()),
});
export const OverprivilegedAnswer = z.object({ policyVersion: z.number(), window: z.string(), ratio: z.number(), items: z.array(OverprivilegedItem) });
