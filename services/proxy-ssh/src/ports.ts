import type { Identity, SessionTopicEvent } from '@portcullis/schemas';

/** The engine's port to policy decisions: kit's one CommandGate, shared by every proxy (connectCommandGate in production). */
export type { CommandGate } from '@portcullis/kit';

/** Where SessionOpened, CommandCompleted, OutputRecorded and SessionClosed go (bus.publish('sessionEvents', e) in production). */
export interface SessionEventSink {
  publish(event: SessionTopicEvent): Promise<void>;
  /** `edge` marks this proxy's commands as decided at the edge (kit's SessionEventSink). */
  readonly decision?: 'edge' | 'remote';
}

/** Verifies the OIDC access token a caller sends as password or keyboard-interactive answer. */
export interface IdentityVerifier {
  verifyToken(token: string): Promise<{ identity: Identity; expiresAt?: string }>;
}
