import type { Identity, SessionTopicEvent } from '@portcullis/schemas';

/** What the engine needs from policy decisions: kit's one CommandGate port, shared by every proxy. */
export type { CommandGate } from '@portcullis/kit';

/** Where the session record (SessionOpened, CommandCompleted, OutputRecorded, SessionClosed) goes. */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
  /** `edge` marks this proxy's commands as decided at the edge (kit's SessionEventSink). */
  readonly decision?: 'edge' | 'remote';
}

/** Verifies the OIDC access token a caller sends as its password (kit's createIdentityVerifier). */
export interface IdentityVerifier {
  verifyToken(token: string): Promise<{ identity: Identity; expiresAt?: string }>;
}
