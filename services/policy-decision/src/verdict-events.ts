/**
 * The events a decision becomes, the same wherever it is made (the PDP
 * service, a proxy deciding at the edge): VerdictIssued, and for a hold the
 * ApprovalRequested that carries what a grant turns into.
 */
import { commandText, newId, nowIso, type ApprovalRequested, type CommandRequested, type VerdictIssued } from '@portcullis/schemas';
import type { Decision } from './decide.ts';

export function verdictOf(sessionId: string, commandId: string, decision: Decision, extra: { approvalId?: string; decidedBy?: string } = {}): VerdictIssued {
  return {
    type: 'VerdictIssued',
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId,
    commandId,
    effect: decision.effect,
    ruleIds: decision.ruleIds,
    reasons: decision.reasons,
    ...(decision.mask ? { mask: decision.mask } : {}),
    ...(extra.approvalId ? { approvalId: extra.approvalId } : {}),
    policyVersion: decision.policyVersion,
    final: decision.effect !== 'hold',
    classes: decision.classes,
    ...(extra.decidedBy ? { decidedBy: extra.decidedBy } : {}),
    ...(decision.syntaxError ? { syntaxError: decision.syntaxError } : {}),
  };
}

/** The approval request for a held command; undefined unless the decision is a hold with its approval requirement. */
export function approvalRequestOf(command: CommandRequested, decision: Decision, approvalId: string): ApprovalRequested | undefined {
  if (decision.effect !== 'hold' || !decision.approval) return undefined;
  return {
    type: 'ApprovalRequested',
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId: command.sessionId,
    approvalId,
    commandId: command.commandId,
    identity: command.identity,
    resource: command.resource,
    commandText: commandText(command.command),
    ruleId: decision.approval.ruleId,
    approverGroups: decision.approval.approverGroups,
    quorum: decision.approval.quorum,
    expiresAt: decision.approval.expiresAt,
    ...(command.reason ? { reason: command.reason } : {}),
    policyVersion: decision.policyVersion,
    onGrant: { effect: decision.mask ? 'mask' : 'allow', ...(decision.mask ? { mask: decision.mask } : {}), ruleIds: decision.ruleIds },
  };
}

/** A decision that blocks because evaluation itself failed: fail closed, never silence. */
export function unevaluable(err: string, policyVersion: number): Decision {
  return { effect: 'block', ruleIds: [], reasons: [`the gateway could not evaluate this command: ${err}`], classes: [], policyVersion };
}
