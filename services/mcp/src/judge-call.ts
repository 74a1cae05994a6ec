/**
 * Every tool call that reaches a target goes through here: its Portcullis
 * session is opened (durably), the command is recorded and judged by the
 * gateway's one judge path (kit's judgeCommand, the same gate as the
 * proxies), and only an allow or mask verdict lets it run. A block comes back
 * as a tool error naming the rule and the reason; a hold comes back at once
 * as "pending approval <id>", the call waiting in PendingApprovals for
 * wait_for_approval. Fails closed: no verdict, no run.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Command, Protocol, ResourceRef, VerdictIssued } from '@portcullis/schemas';
import { commandText } from '@portcullis/schemas';
import { describeError, describeVerdict, judgeCommand, type SessionRecord } from '@portcullis/kit';
import type { ServiceContext } from './context.ts';
import type { CallerSession } from './caller-session.ts';
import { errorResult, textResult } from './result.ts';

export type Execute = (verdict: VerdictIssued, commandId: string, record: SessionRecord) => Promise<CallToolResult>;

export async function judgeAndRun(
  ctx: ServiceContext,
  session: CallerSession,
  target: { resource: ResourceRef; protocol: Protocol },
  command: Command,
  execute: Execute,
  options: { reason?: string; signal?: AbortSignal } = {},
): Promise<CallToolResult> {
  let record: SessionRecord;
  try {
    record = await session.record(target.resource, target.protocol);
  } catch (err) {
    ctx.logger.error({ err: describeError(err) }, 'SessionOpened could not be written');
    return errorResult('PCL_ERR_NOT_RUN', 'the session could not be recorded, so nothing was run');
  }
  const requested = record.commandRequested(command, options.reason?.slice(0, 2000));
  const settings = ctx.config.settings;
  const started = Date.now();
  const outcome = await judgeCommand(ctx.gate, requested, {
    timeoutMs: settings.verdictTimeoutMs,
    holdTimeoutMs: settings.maxApprovalWaitMs,
    hold: 'return',
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (outcome.run) return execute(outcome.verdict, requested.commandId, record);

  const refusal = outcome.refusal;
  const verdict = refusal.verdict;
  const refuse = (message: string): void =>
    record.commandCompleted({ commandId: requested.commandId, status: 'refused', durationMs: Date.now() - started, error: message.slice(0, 2000) });
  if (refusal.code === 'PCL_ERR_HELD' && refusal.approvalId) {
    const approvalId = refusal.approvalId;
    ctx.pending.add({
      approvalId,
      commandId: requested.commandId,
      owner: { subject: session.identity.subject, issuer: session.identity.issuer },
      resource: target.resource.name,
      mcpSessionId: session.mcpSessionId,
      summary: commandText(command).slice(0, 500),
      withdraw: async (why) => {
        record.commandCompleted({ commandId: requested.commandId, status: 'cancelled', durationMs: Date.now() - started, error: why });
        await ctx.gate.cancelHold?.({ approvalId, sessionId: record.sessionId, reason: why }).catch(() => undefined);
      },
      run: (final) => execute(final, requested.commandId, record),
      refuse,
    });
    const why = verdict ? describeVerdict(verdict) : refusal.detail;
    return textResult(
      `Pending approval ${approvalId}: Portcullis held this call (${why}). Nothing ran yet. ` +
        `Call wait_for_approval with approval_id "${approvalId}" to wait for the decision and get the result once it is granted, or approval_status to check without waiting.`,
      { status: 'pending', approvalId, ruleIds: verdict?.ruleIds ?? [], reasons: verdict?.reasons ?? [] },
    );
  }
  if (refusal.code === 'PCL_ERR_BLOCKED' && verdict) {
    const message = `Portcullis blocked this call: ${describeVerdict(verdict)} (policy v${verdict.policyVersion})`;
    refuse(message);
    return errorResult('PCL_ERR_BLOCKED', message, { ruleIds: verdict.ruleIds, reasons: verdict.reasons });
  }
  const message = `the call was not run: ${refusal.detail}`;
  refuse(message);
  return errorResult('PCL_ERR_NOT_RUN', message, { cause: refusal.code });
}
