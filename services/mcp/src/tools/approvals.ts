/**
 * `approval_status` and `wait_for_approval`: a held call's approval, seen by
 * the caller who made the call (an approval id of someone else's call is
 * "unknown"). wait_for_approval waits for the final verdict up to its
 * timeout and, when the call is granted, runs it under that verdict (masked
 * as it says) and returns its result — once; a denial or expiry comes back
 * as an error with the reason.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Identity, VerdictIssued } from '@portcullis/schemas';
import { describeVerdict } from '@portcullis/kit';
import type { ServiceContext } from '../context.ts';
import type { PendingCall } from '../pending-approvals.ts';
import { errorResult, textResult } from '../result.ts';

async function finalVerdict(ctx: ServiceContext, call: PendingCall, timeoutMs: number, signal?: AbortSignal): Promise<VerdictIssued | undefined> {
  if (call.final) return call.final;
  try {
    call.final = await ctx.gate.awaitFinal(call.commandId, { timeoutMs, ...(signal ? { signal } : {}) });
    return call.final;
  } catch (err) {
    if ((err as { code?: string }).code === 'PCL_ERR_VERDICT_TIMEOUT' || signal?.aborted) return undefined;
    throw err;
  }
}

const unknown = (approvalId: string): CallToolResult =>
  errorResult('PCL_ERR_APPROVAL_UNKNOWN', `no held call of yours has approval id ${approvalId} (it ran or was refused already, or was made through another Portcullis instance)`);

export async function approvalStatus(ctx: ServiceContext, caller: Identity, approvalId: string): Promise<CallToolResult> {
  const call = ctx.pending.get(approvalId, caller);
  if (!call) return unknown(approvalId);
  const final = await finalVerdict(ctx, call, 300);
  if (!final) return textResult(`approval ${approvalId} is pending (${call.summary} on ${call.resource}); call wait_for_approval to wait for it`, { approvalId, status: 'pending' });
  const granted = final.effect === 'allow' || final.effect === 'mask';
  return textResult(
    granted ? `approval ${approvalId} was granted; call wait_for_approval to run the call and get its result` : `approval ${approvalId} was not granted: ${describeVerdict(final)}`,
    { approvalId, status: granted ? 'granted' : 'denied', reasons: final.reasons },
  );
}

export async function waitForApproval(ctx: ServiceContext, caller: Identity, approvalId: string, timeoutSeconds: number, signal?: AbortSignal): Promise<CallToolResult> {
  const call = ctx.pending.get(approvalId, caller);
  if (!call) return unknown(approvalId);
  const timeoutMs = Math.min(Math.max(1, timeoutSeconds) * 1000, ctx.config.settings.maxApprovalWaitMs);
  const final = await finalVerdict(ctx, call, timeoutMs, signal);
  if (!final) return textResult(`approval ${approvalId} is still pending after ${Math.round(timeoutMs / 1000)} s; call wait_for_approval again to keep waiting`, { approvalId, status: 'pending' });
  // Whoever takes it first runs it; a second waiter finds it gone.
  if (!ctx.pending.take(approvalId)) return unknown(approvalId);
  if (final.effect === 'allow' || final.effect === 'mask') return call.run(final);
  const message = `approval ${approvalId} was not granted: ${describeVerdict(final)}`;
  call.refuse(message);
  return errorResult('PCL_ERR_APPROVAL_DENIED', message, { approvalId, ruleIds: final.ruleIds, reasons: final.reasons });
}
