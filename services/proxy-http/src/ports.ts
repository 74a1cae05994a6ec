import type { Identity, SessionTopicEvent } from '@portcullis/schemas';

/** Policy decisions, as the proxy sees them: kit's one CommandGate port, shared by every proxy. */
export type { CommandGate } from '@portcullis/kit';

/** Where SessionOpened / CommandCompleted / OutputRecorded / SessionClosed go. */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
  /** `edge` marks this proxy's commands as decided at the edge (kit's SessionEventSink). */
  readonly decision?: 'edge' | 'remote';
}

/** Verifies the caller's OIDC access token (kit's createIdentityVerifier). */
export interface IdentityVerifier {
  verifyToken(token: string): Promise<{ identity: Identity; expiresAt?: string }>;
}
