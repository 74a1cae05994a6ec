import type { CommandRequested, Identity, SessionTopicEvent, VerdictIssued } from '@portcullis/schemas';

/** The engine's port to the PDP (createCommandGate from @portcullis/kit in production). */
export interface CommandGate {
  /** Publishes the CommandRequested durably and resolves with its first VerdictIssued; rejects (fail closed) on timeout or publish failure. */
  judge(command: CommandRequested, options?: { timeoutMs?: number }): Promise<VerdictIssued>;
  /** After a provisional hold verdict: the final verdict for that commandId, or a rejection on timeout/abort. */
  awaitFinal(commandId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<VerdictIssued>;
}

/** Where SessionOpened, CommandCompleted, OutputRecorded and SessionClosed go (bus.publish('sessionEvents', e) in production). */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
}

/** Verifies the OIDC access token a caller sends as password or keyboard-interactive answer. */
export interface IdentityVerifier {
  verifyToken(token: string): Promise<{ identity: Identity; expiresAt?: string }>;
}
