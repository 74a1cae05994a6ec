import { z } from 'zod';
import { envelope, Timestamp } from './envelope.ts';

/**
 * Whose access a revocation ends: one identity (issuer + subject), every
 * member of a group the issuer asserts, or every token the issuer gave to an
 * OAuth client (all tokens of a CI system, whoever their subject).
 */
export const RevocationTarget = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('identity'), issuer: z.string().min(1), subject: z.string().min(1) }),
  z.object({ kind: z.literal('group'), issuer: z.string().min(1), group: z.string().min(1) }),
  z.object({ kind: z.literal('client'), issuer: z.string().min(1), clientId: z.string().min(1) }),
]);
export type RevocationTarget = z.infer<typeof RevocationTarget>;

/** Who acted (an admin's verified identity). */
export const Actor = z.object({ subject: z.string().min(1), issuer: z.string().min(1), name: z.string().optional() });
export type Actor = z.infer<typeof Actor>;

/**
 * The `sessionId` of the envelope is the admin action's own id (an
 * identity's revocation belongs to no session).
 */
export const IdentityRevoked = z.object({
  type: z.literal('IdentityRevoked'),
  ...envelope,
  target: RevocationTarget,
  reason: z.string().min(1).max(2000),
  revokedBy: Actor,
});
export type IdentityRevoked = z.infer<typeof IdentityRevoked>;

/**
 * Lifts a revocation, and carries it (compaction keeps only the latest event
 * per target). Tokens issued before `revoked.at` (their `iat`) stay refused,
 * so a token stolen before the revocation does not come back to life with
 * the restore.
 */
export const IdentityRestored = z.object({
  type: z.literal('IdentityRestored'),
  ...envelope,
  target: RevocationTarget,
  revoked: z.object({ at: Timestamp, by: Actor, reason: z.string().max(2000) }),
  reason: z.string().max(2000).optional(),
  restoredBy: Actor,
});
export type IdentityRestored = z.infer<typeof IdentityRestored>;

/** One live session ended by an admin; `sessionId` is that session. */
export const SessionTerminated = z.object({
  type: z.literal('SessionTerminated'),
  ...envelope,
  reason: z.string().min(1).max(2000),
  terminatedBy: Actor,
});
export type SessionTerminated = z.infer<typeof SessionTerminated>;

export const RevocationsTopicEvent = z.discriminatedUnion('type', [IdentityRevoked, IdentityRestored, SessionTerminated]);
export type RevocationsTopicEvent = z.infer<typeof RevocationsTopicEvent>;

/**
 * The compaction key: the latest event per target (a restore replaces its
 * revocation, keeping the revocation time) and per terminated session.
 */
export function revocationKeyOf(event: RevocationsTopicEvent): string {
  if (event.type === 'SessionTerminated') return `session:${event.sessionId}`;
  return targetKey(event.target);
}

export function targetKey(target: RevocationTarget): string {
  switch (target.kind) {
    case 'identity':
      return `identity:${target.issuer}|${target.subject}`;
    case 'group':
      return `group:${target.issuer}|${target.group}`;
    case 'client':
      return `client:${target.issuer}|${target.clientId}`;
  }
}
