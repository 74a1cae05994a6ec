import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Identity, VerdictIssued } from '@portcullis/schemas';

/** A held tool call: what runs once its approval is granted. */
export interface PendingCall {
  approvalId: string;
  commandId: string;
  /** Who asked: only the same identity may wait for it and receive its result. */
  owner: { subject: string; issuer: string };
  resource: string;
  /** The MCP session it was made in: when that session ends, its held calls are withdrawn. */
  mcpSessionId: string;
  /** Withdraws the approval request and records the call as cancelled (the session ended before it ran). */
  withdraw: (reason: string) => Promise<void>;
  /** What was asked, as approvers see it. */
  summary: string;
  /** Runs the call under its final verdict (allow or mask), once. */
  run: (verdict: VerdictIssued) => Promise<CallToolResult>;
  /** Records the call as refused (denied, expired). */
  refuse: (message: string) => void;
  /** The final verdict once seen (the gate hands it out once). */
  final?: VerdictIssued;
}

/**
 * Held calls by approval id. A call runs at most once: the first
 * wait_for_approval that sees it granted takes it. Only its owner can see
 * it; an unknown and a foreign approval id look the same.
 */
export class PendingApprovals {
  private readonly calls = new Map<string, PendingCall>();

  add(call: PendingCall): void {
    this.calls.set(call.approvalId, call);
  }

  get(approvalId: string, caller: Identity): PendingCall | undefined {
    const call = this.calls.get(approvalId);
    if (!call || call.owner.subject !== caller.subject || call.owner.issuer !== caller.issuer) return undefined;
    return call;
  }

  /** Takes out every call of an MCP session (it ended). */
  takeSession(mcpSessionId: string): PendingCall[] {
    const calls = [...this.calls.values()].filter((c) => c.mcpSessionId === mcpSessionId);
    for (const c of calls) this.calls.delete(c.approvalId);
    return calls;
  }

  /** Takes the call out: it runs (or is refused) now, and never again. */
  take(approvalId: string): PendingCall | undefined {
    const call = this.calls.get(approvalId);
    this.calls.delete(approvalId);
    return call;
  }
}
