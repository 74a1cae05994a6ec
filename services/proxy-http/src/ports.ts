import type { CommandRequested, Identity, SessionTopicEvent, VerdictIssued } from '@portcullis/schemas';

/** The PDP, as the proxy sees it (kit's createCommandGate implements it). */
export interface CommandGate {
  judge(command: CommandRequested, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<VerdictIssued>;
  awaitFinal(commandId: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<VerdictIssued>;
}

/** Where SessionOpened / CommandCompleted / OutputRecorded / SessionClosed go. */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
}

/** Verifies the caller's OIDC access token (kit's createIdentityVerifier). */
export interface IdentityVerifier {
  verifyToken(token: string): Promise<{ identity: Identity; expiresAt?: string }>;
}
