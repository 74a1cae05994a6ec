import { z } from 'zod';
import { envelope, Identity, ResourceRef } from './envelope.ts';
import { MaskSpec } from './verdicts.ts';

const approvalFields = {
  ...envelope,
  approvalId: z.string().uuid(),
};

export const ApprovalRequested = z.object({
  type: z.literal('ApprovalRequested'),
  ...approvalFields,
  commandId: z.string().uuid(),
  identity: Identity,
  resource: ResourceRef,
  commandText: z.string(),
  ruleId: z.string(),
  approverGroups: z.array(z.string()).min(1),
  quorum: z.number().int().positive(),
  expiresAt: z.string().datetime({ offset: true }),
  reason: z.string().optional(),
  policyVersion: z.number().int().nonnegative(),
  /** What the PDP will answer once the approval is granted: allow, or mask when mask rules also matched. */
  onGrant: z.object({ effect: z.enum(['allow', 'mask']), mask: MaskSpec.optional(), ruleIds: z.array(z.string()).default([]) }).optional(),
});

/** One approver said yes; the approval is granted when the quorum is reached. */
export const ApprovalVoteRecorded = z.object({
  type: z.literal('ApprovalVoteRecorded'),
  ...approvalFields,
  approver: Identity,
  comment: z.string().optional(),
});

export const ApprovalGranted = z.object({
  type: z.literal('ApprovalGranted'),
  ...approvalFields,
  approvers: z.array(z.string()).min(1),
  comment: z.string().optional(),
});

export const ApprovalDenied = z.object({
  type: z.literal('ApprovalDenied'),
  ...approvalFields,
  approver: z.string(),
  comment: z.string().optional(),
});

export const ApprovalExpired = z.object({
  type: z.literal('ApprovalExpired'),
  ...approvalFields,
});

export const ApprovalCancelled = z.object({
  type: z.literal('ApprovalCancelled'),
  ...approvalFields,
  reason: z.string(),
});

export const ApprovalsTopicEvent = z.discriminatedUnion('type', [
  ApprovalRequested,
  ApprovalVoteRecorded,
  ApprovalGranted,
  ApprovalDenied,
  ApprovalExpired,
  ApprovalCancelled,
]);
export type ApprovalsTopicEvent = z.infer<typeof ApprovalsTopicEvent>;
export type ApprovalRequested = z.infer<typeof ApprovalRequested>;
