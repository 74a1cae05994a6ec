import type { CommandRequested, VerdictIssued } from '@portcullis/schemas';

/**
 * The one port every proxy judges commands through. Two implementations:
 * the edge gate (policy-decision's createEdgeGate: decides in the proxy and
 * writes the command and its verdict durably before resolving) and the
 * remote gate (kit's createCommandGate: publishes the command, awaits the
 * PDP's verdict over Kafka).
 */
export interface CommandGate {
  /**
   * Resolves with the command's first verdict once the CommandRequested (and, at the edge, the
   * VerdictIssued) are durably in the log. Rejects — the proxy then refuses the command — on
   * timeout, publish failure, stale policy or abort, with an Error whose message says why.
   */
  judge(command: CommandRequested, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<VerdictIssued>;
  /** After a provisional hold verdict: the final verdict for that commandId (allow/mask/block), or a rejection on timeout/abort. */
  awaitFinal(commandId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<VerdictIssued>;
  /**
   * The policy version the gate decides with now, when it knows it.
   * A prepared statement allowed under an older version is judged again at its next Execute.
   */
  currentPolicyVersion?(): number | undefined;
  /** Withdraws a held command's approval request (ApprovalCancelled) when no one waits for it any more. */
  cancelHold?(hold: { approvalId: string; sessionId: string; reason: string }): Promise<void>;
  /**
   * Why the gate cannot decide now (its policy state could not be kept current), or undefined when
   * it can. Readiness reports it; judge() refuses for the same reason.
   */
  unavailable?(): string | undefined;
  /** The session ended: per-session decision state (prepared statements) can go. */
  forgetSession?(sessionId: string): void;
}

/** A gate with connections of its own to release. */
export interface ClosableCommandGate extends CommandGate {
  close(): Promise<void>;
}
