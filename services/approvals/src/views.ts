/**
 * What the API shows of an approval. The response schemas are the allow-list
 * of what leaves the service: no token, no secret ever reaches a response.
 */
import { z } from 'zod';
import { APPROVAL_STATUSES, type KnownApproval } from './decider.ts';

const Person = z.object({
  subject: z.string(),
  issuer: z.string(),
  kind: z.enum(['human', 'service']),
  name: z.string().optional(),
});

export const ApprovalView = z
  .object({
    approvalId: z.string(),
    status: z.enum(APPROVAL_STATUSES),
    commandId: z.string(),
    sessionId: z.string(),
    requester: Person.extend({ groups: z.array(z.string()) }),
    resource: z.object({ name: z.string(), kind: z.string(), tags: z.array(z.string()) }),
    commandText: z.string(),
    reason: z.string().optional(),
    ruleId: z.string(),
    approverGroups: z.array(z.string()),
    quorum: z.number().int(),
    requestedAt: z.string(),
    expiresAt: z.string(),
    policyVersion: z.number().int(),
    votes: z.array(z.object({ approver: Person, at: z.string(), comment: z.string().optional() })),
    outcome: z
      .object({ at: z.string(), by: z.array(z.string()), comment: z.string().optional(), reason: z.string().optional() })
      .optional(),
  })
  .meta({ id: 'Approval' });
export type ApprovalView = z.infer<typeof ApprovalView>;

export const ErrorView = z
  .object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() })
  .meta({ id: 'Error' });

export function viewOf(state: KnownApproval): ApprovalView {
  const { request } = state;
  const person = ({ subject, issuer, kind, name }: KnownApproval['request']['identity']) => ({ subject, issuer, kind, ...(name ? { name } : {}) });
  return {
    approvalId: request.approvalId,
    status: state.status,
    commandId: request.commandId,
    sessionId: request.sessionId,
    requester: { ...person(request.identity), groups: request.identity.groups },
    resource: request.resource,
    commandText: request.commandText,
    ...(request.reason ? { reason: request.reason } : {}),
    ruleId: request.ruleId,
    approverGroups: request.approverGroups,
    quorum: request.quorum,
    requestedAt: request.occurredAt,
    expiresAt: request.expiresAt,
    policyVersion: request.policyVersion,
    votes: state.votes.map((v) => ({ approver: person(v.approver), at: v.at, ...(v.comment ? { comment: v.comment } : {}) })),
    ...(state.outcome ? { outcome: outcomeView(state.outcome) } : {}),
  };
}

function outcomeView({ at, by, comment, reason }: NonNullable<KnownApproval['outcome']>): NonNullable<ApprovalView['outcome']> {
  return { at, by, ...(comment ? { comment } : {}), ...(reason ? { reason } : {}) };
}
