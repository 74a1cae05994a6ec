/**
 * One batch of events folded into the audit rows it touches. Pure: given the
 * rows as stored (and the chain facts only the database knows), returns the
 * rows to write. apply.ts loads, calls this, and writes the result with one
 * statement per table.
 *
 * The hash chain of every touched session is continued here, in memory,
 * from its proven prefix over the events of the batch plus the ones still
 * pending from earlier batches; only events that stay unproven (an earlier
 * seq has not arrived) are kept for later.
 */
import type { ChainedEvent, Identity } from '@portcullis/schemas';
import type { ProjectedEvent } from '@portcullis/kit';
import { applyToCommand, applyToSession, emptyCommand, emptySession, evolveApproval, evolveIdentity } from './evolve.ts';
import { continueChain } from './integrity.ts';
import type { ApprovalRow, ChainLinkRow, CommandRow, IdentityRow, PendingLinkRow, SessionRow } from './rows.ts';

export interface AuditRows {
  sessions: Map<string, SessionRow>;
  commands: Map<string, CommandRow>;
  approvals: Map<string, ApprovalRow>;
  /** By identityKey. */
  identities: Map<string, IdentityRow>;
}

export interface ChainFacts {
  /** Stored events of a session not proven yet (seq > verified_seq), for sessions that have any. */
  pending: Map<string, ChainedEvent[]>;
  /** A batch event whose seq is already stored with a different digest, per session (the first such). */
  conflicts: Map<string, { seq: number; eventId: string }>;
}

export interface FoldedBatch extends AuditRows {
  /** seq, digest and id of every chained event of the batch. */
  links: ChainLinkRow[];
  /** Batch events that stay unproven, to store. */
  pendingAdded: PendingLinkRow[];
  /** Per touched session, stored pending events up to this seq are proven (or moot) and can go. */
  pendingProvenUpTo: Map<string, number>;
}

export const identityKey = (i: Pick<Identity, 'issuer' | 'subject'>): string => JSON.stringify([i.issuer, i.subject]);

/** The keys of the rows a batch touches: what to load before folding it. */
export function touchedKeys(batch: readonly ProjectedEvent[]): {
  sessions: string[]; chainedSessions: string[]; commands: string[]; approvals: string[]; identities: [string, string][];
} {
  const sessions = new Set<string>();
  const chainedSessions = new Set<string>();
  const commands = new Set<string>();
  const approvals = new Set<string>();
  const identities = new Map<string, [string, string]>();
  const person = (i: Identity): void => void identities.set(identityKey(i), [i.issuer, i.subject]);
  for (const { event } of batch) {
    if (isChained(event)) chainedSessions.add(event.sessionId);
    switch (event.type) {
      case 'CommandRequested':
        person(event.identity);
        commands.add(event.commandId);
        sessions.add(event.sessionId);
        break;
      case 'VerdictIssued':
      case 'VerdictDisputed':
      case 'CommandCompleted':
        commands.add(event.commandId);
        sessions.add(event.sessionId);
        break;
      case 'SessionOpened':
        person(event.identity);
        sessions.add(event.sessionId);
        break;
      case 'OutputRecorded':
      case 'SessionClosed':
        sessions.add(event.sessionId);
        break;
      case 'ApprovalRequested':
        person(event.identity);
        approvals.add(event.approvalId);
        break;
      case 'ApprovalVoteRecorded':
        person(event.approver);
        approvals.add(event.approvalId);
        break;
      case 'ApprovalGranted':
      case 'ApprovalDenied':
      case 'ApprovalExpired':
      case 'ApprovalCancelled':
        approvals.add(event.approvalId);
        break;
      case 'PolicySetPublished':
        break;
    }
  }
  return { sessions: [...sessions], chainedSessions: [...chainedSessions], commands: [...commands], approvals: [...approvals], identities: [...identities.values()] };
}

const isChained = (event: object): event is ChainedEvent & { sessionId: string; eventId: string; type: string } =>
  'seq' in event && 'digest' in event;

export function foldAuditBatch(stored: AuditRows, batch: readonly ProjectedEvent[], chain: ChainFacts): FoldedBatch {
  const sessions = new Map(stored.sessions);
  const commands = new Map(stored.commands);
  const approvals = new Map(stored.approvals);
  const identities = new Map(stored.identities);
  const chained = new Map<string, ChainedEvent[]>();
  const links: ChainLinkRow[] = [];
  // The stored rows are never changed: each touched row is copied once per batch, then evolved in place.
  const ownSessions = new Set<string>();
  const ownCommands = new Set<string>();
  const session = (id: string): SessionRow => {
    let row = sessions.get(id);
    if (!ownSessions.has(id)) {
      row = row ? { ...row } : emptySession(id);
      sessions.set(id, row);
      ownSessions.add(id);
    }
    return row!;
  };
  const command = (id: string, sessionId: string): CommandRow => {
    let row = commands.get(id);
    if (!ownCommands.has(id)) {
      row = row ? { ...row } : emptyCommand(id, sessionId);
      commands.set(id, row);
      ownCommands.add(id);
    }
    return row!;
  };

  for (const { event, offset } of batch) {
    switch (event.type) {
      case 'CommandRequested':
      case 'VerdictIssued':
      case 'VerdictDisputed':
      case 'CommandCompleted':
        applyToCommand(command(event.commandId, event.sessionId), event);
        applyToSession(session(event.sessionId), event);
        break;
      case 'SessionOpened':
      case 'OutputRecorded':
      case 'SessionClosed':
        applyToSession(session(event.sessionId), event);
        break;
      case 'ApprovalRequested':
      case 'ApprovalVoteRecorded':
      case 'ApprovalGranted':
      case 'ApprovalDenied':
      case 'ApprovalExpired':
      case 'ApprovalCancelled':
        approvals.set(event.approvalId, evolveApproval(approvals.get(event.approvalId), event, offset));
        break;
      case 'PolicySetPublished':
        break;
    }
    const seen = event.type === 'CommandRequested' || event.type === 'SessionOpened' || event.type === 'ApprovalRequested'
      ? event.identity : event.type === 'ApprovalVoteRecorded' ? event.approver : undefined;
    if (seen) {
      const k = identityKey(seen);
      identities.set(k, evolveIdentity(identities.get(k), seen, event.occurredAt, event.eventId));
    }
    if (isChained(event)) {
      links.push({ session_id: event.sessionId, seq: event.seq, digest: event.digest, event_id: event.eventId });
      const list = chained.get(event.sessionId) ?? [];
      list.push(event);
      chained.set(event.sessionId, list);
    }
  }

  const pendingAdded: PendingLinkRow[] = [];
  const pendingProvenUpTo = new Map<string, number>();
  for (const [sessionId, events] of chained) {
    const row = sessions.get(sessionId)!;
    const conflict = chain.conflicts.get(sessionId);
    const next = conflict && row.integrity !== 'tampered'
      ? { ...row, integrity: 'tampered' as const, missing_seq: null, tampered_seq: conflict.seq, tampered_event_id: conflict.eventId }
      : { ...row, ...continueChain(row, [...(chain.pending.get(sessionId) ?? []), ...events]) };
    sessions.set(sessionId, next);
    if (next.integrity === 'tampered') {
      // Tampered is final until a rebuild: nothing left to prove.
      pendingProvenUpTo.set(sessionId, 2 ** 31 - 1);
      continue;
    }
    pendingProvenUpTo.set(sessionId, next.verified_seq);
    const kept = new Set<number>();
    for (const e of events) {
      if (e.seq <= next.verified_seq || kept.has(e.seq)) continue;
      kept.add(e.seq);
      pendingAdded.push({ session_id: sessionId, seq: e.seq, body: JSON.stringify(e) });
    }
  }
  return { sessions, commands, approvals, identities, links, pendingAdded, pendingProvenUpTo };
}
