/**
 * Cancelling a held command from anywhere (a proxy whose client disconnected
 * while waiting): publish ApprovalCancelled on portcullis.approvals. The PDP
 * answers with a final block verdict ("cancelled: <reason>"); the approvals
 * service closes the approval. A cancel that arrives after the approval was
 * decided changes nothing: the first outcome in the log wins.
 */
import { newId, nowIso } from '@portcullis/schemas';
import type { Bus } from '@portcullis/kit';

export async function cancelApproval(bus: Bus, { approvalId, sessionId, reason }: { approvalId: string; sessionId: string; reason: string }): Promise<void> {
  await bus.publish('approvals', { type: 'ApprovalCancelled', eventId: newId(), occurredAt: nowIso(), sessionId, approvalId, reason });
}
