/**
 * Completeness and integrity of a session's record, from `seq` and the hash
 * chain (schemas/src/hash-chain.ts). Sessions grow batch by batch, so the
 * check continues from the longest prefix already proven (verified_seq,
 * verified_digest) instead of re-reading the whole session every time; a
 * session checked in one go gets exactly verifyChain's answer (see
 * integrity.unit.test.ts).
 */
import { computeDigest, GENESIS_DIGEST, type ChainedEvent } from '@portcullis/schemas';

export interface ChainState {
  verified_seq: number;
  verified_digest: string | null;
  integrity: 'ok' | 'gap' | 'tampered';
  missing_seq: number | null;
  tampered_seq: number | null;
  tampered_event_id: string | null;
}

/**
 * `events`: the session's stored chained events with seq > verified_seq (any
 * order; two different events with one seq count as tampering).
 */
export function continueChain(state: ChainState, events: readonly ChainedEvent[]): ChainState {
  if (state.integrity === 'tampered') return state;
  const bySeq = new Map<number, ChainedEvent>();
  for (const e of events) {
    const seen = bySeq.get(e.seq);
    if (seen && seen.digest !== e.digest) return tampered(state, e);
    bySeq.set(e.seq, e);
  }
  const seq = state.verified_seq;
  const previous = state.verified_digest ?? GENESIS_DIGEST;
  const last = Math.max(seq, ...bySeq.keys());
  // Like verifyChain: a hole anywhere is reported before digests are checked.
  for (let s = seq + 1; s <= last; s++) {
    if (!bySeq.has(s)) {
      return { ...state, ...proven(state, bySeq, seq, previous, s - 1), integrity: 'gap', missing_seq: s };
    }
  }
  const run = proven(state, bySeq, seq, previous, last);
  if (run.tamperedAt) return tampered(state, run.tamperedAt);
  return { ...state, verified_seq: run.verified_seq, verified_digest: run.verified_digest, integrity: 'ok', missing_seq: null };
}

/** Walks the contiguous run after the proven prefix as far as digests recompute. */
function proven(
  _state: ChainState, bySeq: Map<number, ChainedEvent>, fromSeq: number, fromDigest: string, toSeq: number,
): { verified_seq: number; verified_digest: string | null; tamperedAt?: ChainedEvent } {
  let seq = fromSeq;
  let previous = fromDigest;
  for (let s = fromSeq + 1; s <= toSeq; s++) {
    const e = bySeq.get(s)!;
    if (computeDigest(previous, e) !== e.digest) return { verified_seq: seq, verified_digest: seq === 0 ? null : previous, tamperedAt: e };
    previous = e.digest;
    seq = s;
  }
  return { verified_seq: seq, verified_digest: seq === 0 ? null : previous };
}

function tampered(state: ChainState, e: ChainedEvent): ChainState {
  return { ...state, integrity: 'tampered', missing_seq: null, tampered_seq: e.seq, tampered_event_id: typeof e.eventId === 'string' ? e.eventId : null };
}
