/**
 * The revocation list as a fold over portcullis.revocations (pure: every
 * proxy, the query API and the tests build it the same way), and the one
 * answer to "may this credential be used now?".
 */
import type { Actor, Identity, RevocationsTopicEvent, RevocationTarget } from '@portcullis/schemas';
import { targetKey } from '@portcullis/schemas';

export interface RevocationEntry {
  target: RevocationTarget;
  /** When the revocation took effect; tokens issued before it stay refused after a restore. */
  revokedAt: string;
  reason: string;
  revokedBy: Actor;
  /** Set once the revocation was lifted. */
  restored?: { at: string; by: Actor; reason?: string };
}

export interface TerminatedSession {
  sessionId: string;
  reason: string;
  by: Actor;
  at: string;
}

export interface RevocationState {
  /** By target key (revocations.ts targetKey). */
  readonly entries: ReadonlyMap<string, RevocationEntry>;
  readonly terminated: ReadonlyMap<string, TerminatedSession>;
}

export const initialRevocationState: RevocationState = { entries: new Map(), terminated: new Map() };

export function evolveRevocations(state: RevocationState, event: RevocationsTopicEvent): RevocationState {
  switch (event.type) {
    case 'IdentityRevoked': {
      const entries = new Map(state.entries);
      entries.set(targetKey(event.target), { target: event.target, revokedAt: event.occurredAt, reason: event.reason, revokedBy: event.revokedBy });
      return { ...state, entries };
    }
    case 'IdentityRestored': {
      const entries = new Map(state.entries);
      // Compaction may have removed the revocation; the restore carries it.
      entries.set(targetKey(event.target), {
        target: event.target,
        revokedAt: event.revoked.at,
        reason: event.revoked.reason,
        revokedBy: event.revoked.by,
        restored: { at: event.occurredAt, by: event.restoredBy, ...(event.reason ? { reason: event.reason } : {}) },
      });
      return { ...state, entries };
    }
    case 'SessionTerminated': {
      const terminated = new Map(state.terminated);
      terminated.set(event.sessionId, { sessionId: event.sessionId, reason: event.reason, by: event.terminatedBy, at: event.occurredAt });
      return { ...state, terminated };
    }
  }
}

/** Does the target cover this identity? Issuers always match exactly: a subject is only unique within its issuer. */
export function targetCovers(target: RevocationTarget, identity: Identity): boolean {
  if (target.issuer !== identity.issuer) return false;
  switch (target.kind) {
    case 'identity':
      return target.subject === identity.subject;
    case 'group':
      return identity.groups.includes(target.group);
    case 'client':
      return identity.clientId === target.clientId;
  }
}

export function describeTarget(target: RevocationTarget): string {
  switch (target.kind) {
    case 'identity':
      return `identity ${target.subject}`;
    case 'group':
      return `group ${target.group}`;
    case 'client':
      return `client ${target.clientId}`;
  }
}

/** The words a caller sees when a revocation ends or refuses its session. */
export function revocationMessage(entry: RevocationEntry): string {
  return `access of ${describeTarget(entry.target)} was revoked by ${entry.revokedBy.subject} at ${entry.revokedAt}: ${entry.reason}`;
}

/**
 * Why this credential may not be used, or undefined when it may. Refused:
 * anything a revocation in force covers; after a restore, a token issued
 * before the revocation (its iat), or one whose issue time is unknown (it
 * cannot be told apart from one issued before).
 */
export function refusalOf(state: RevocationState, credential: { identity: Identity; issuedAt?: string }): string | undefined {
  for (const entry of state.entries.values()) {
    if (!targetCovers(entry.target, credential.identity)) continue;
    if (!entry.restored) return revocationMessage(entry);
    const issued = credential.issuedAt === undefined ? Number.NaN : Date.parse(credential.issuedAt);
    if (Number.isNaN(issued)) {
      return `${describeTarget(entry.target)} was revoked at ${entry.revokedAt} and restored since; this credential does not say when it was issued, so it is refused: get a new token`;
    }
    // iat has whole seconds: a token issued in the same second as the revocation counts as before it.
    if (issued <= Date.parse(entry.revokedAt)) {
      return `this token was issued at ${credential.issuedAt}, before ${describeTarget(entry.target)} was revoked at ${entry.revokedAt}; the access was restored since, but only for tokens issued after the revocation: get a new token`;
    }
  }
  return undefined;
}
