import { randomInt } from 'node:crypto';

/** What a CancelRequest can reach: the session that owns the key. */
export interface Cancellable {
  cancel(): void;
}

/**
 * The proxy gives every caller its own BackendKeyData (docs "Canceling
 * Requests in Progress"); a CancelRequest carrying it reaches that session,
 * which cancels what it is waiting for and forwards a CancelRequest with the
 * target's key. The caller never learns the target's key.
 */
export class CancelRegistry {
  private readonly sessions = new Map<string, Cancellable>();

  register(session: Cancellable): { processId: number; secretKey: number; release: () => void } {
    for (;;) {
      const processId = randomInt(1, 0x7fffffff);
      const secretKey = randomInt(-0x80000000, 0x7fffffff);
      const key = `${processId}:${secretKey}`;
      if (this.sessions.has(key)) continue;
      this.sessions.set(key, session);
      return { processId, secretKey, release: () => this.sessions.delete(key) };
    }
  }

  /** True when the key belonged to a live session. */
  cancel(processId: number, secretKey: number): boolean {
    const session = this.sessions.get(`${processId}:${secretKey}`);
    session?.cancel();
    return session !== undefined;
  }

  get size(): number {
    return this.sessions.size;
  }
}
