import { createHash } from 'node:crypto';

/**
 * The per-session hash chain (docs/architecture.md#integrity):
 *   digest(n) = sha256( digest(n-1) ‖ canonicalJson(event n without `digest`) )
 * with digest(0) = 64 zeros. A projection that holds every event of a
 * session can prove the record is complete (seq 1..n without gaps) and
 * untampered (every digest recomputes).
 */
export const GENESIS_DIGEST = '0'.repeat(64);

/** JSON with object keys sorted recursively and no insignificant whitespace (RFC 8785 for the values we use). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new TypeError('non-finite number in event');
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export interface ChainedEvent {
  seq: number;
  digest: string;
  [field: string]: unknown;
}

export function computeDigest(previousDigest: string, event: Omit<ChainedEvent, 'digest'> & { digest?: string }): string {
  const { digest: _ignored, ...body } = event;
  return createHash('sha256').update(previousDigest).update(canonicalJson(body)).digest('hex');
}

/** Stamps `seq` and `digest` on the events of one session as a proxy emits them. */
export class SessionChain {
  private seq = 0;
  private previous = GENESIS_DIGEST;

  next<E extends Record<string, unknown>>(event: E): E & { seq: number; digest: string } {
    const seq = this.seq + 1;
    const withSeq = { ...event, seq };
    const digest = computeDigest(this.previous, withSeq);
    this.seq = seq;
    this.previous = digest;
    return { ...withSeq, digest };
  }

  get lastSeq(): number {
    return this.seq;
  }
}

export type ChainVerdict =
  | { integrity: 'ok'; lastSeq: number }
  | { integrity: 'gap'; missingSeq: number; lastSeq: number }
  | { integrity: 'tampered'; seq: number; eventId: unknown; lastSeq: number };

/**
 * Verifies one session's events (any order; duplicates of the same seq are
 * tolerated when identical). Reports the first missing seq, else the first
 * event whose digest does not recompute.
 */
export function verifyChain(events: readonly ChainedEvent[]): ChainVerdict {
  const bySeq = new Map<number, ChainedEvent>();
  for (const e of events) {
    const seen = bySeq.get(e.seq);
    if (seen && seen.digest !== e.digest) return { integrity: 'tampered', seq: e.seq, eventId: e.eventId, lastSeq: e.seq };
    bySeq.set(e.seq, e);
  }
  const lastSeq = Math.max(0, ...bySeq.keys());
  for (let seq = 1; seq <= lastSeq; seq++) {
    if (!bySeq.has(seq)) return { integrity: 'gap', missingSeq: seq, lastSeq };
  }
  let previous = GENESIS_DIGEST;
  for (let seq = 1; seq <= lastSeq; seq++) {
    const e = bySeq.get(seq)!;
    const expected = computeDigest(previous, e);
    if (expected !== e.digest) return { integrity: 'tampered', seq, eventId: e.eventId, lastSeq };
    previous = e.digest;
  }
  return { integrity: 'ok', lastSeq };
}
