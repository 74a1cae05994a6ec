import type { CommandRequested, VerdictIssued, SessionTopicEvent, Identity } from '@portcullis/schemas';

/** What the engine needs from the bus: judge a command, and wait for a held command's final verdict. */
export interface CommandGate {
  /** Publishes the CommandRequested durably (acks=all) and resolves with its first VerdictIssued. Rejects (fail closed) on timeout or publish failure with an Error whose message says why. */
  judge(command: CommandRequested, options?: { timeoutMs?: number }): Promise<VerdictIssued>;
  /** After a provisional hold verdict: resolves with the final verdict for that commandId (allow/mask/block), or rejects on timeout/abort. */
  awaitFinal(commandId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<VerdictIssued>;
  /**
   * The policy version the PDP currently decides with, when the gate knows it.
   * A prepared statement allowed under an older version is judged again at its next Execute.
   */
  currentPolicyVersion?(): number | undefined;
  /** Withdraws a held statement's approval request (ApprovalCancelled) when no one waits for it any more. */
  cancelHold?(hold: { approvalId: string; sessionId: string; reason: string }): Promise<void>;
}

/** Where the session record (SessionOpened, CommandCompleted, OutputRecorded, SessionClosed) goes. */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
}

/** Verifies the OIDC access token a caller sends as its password (kit's createIdentityVerifier). */
export interface IdentityVerifier {
  verifyToken(token: string): Promise<{ identity: Identity; expiresAt?: string }>;
}
