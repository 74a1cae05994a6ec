import { randomInt } from 'node:crypto';

/** What a CancelRequest can reach: the session that owns the key. */
export interface Cancellable {
  cancel(): void;
}

/** Largest process id PostgreSQL hands out on Linux (pid_max's ceiling); a made-up one stays in range. */
const MAX_PID = 4_194_304;

/**
 * The proxy gives every caller its own BackendKeyData (docs "Canceling
 * Requests in Progress"): the target backend's real process id, so
 * `pg_backend_pid()`, NotificationResponse pids and `pg_terminate_backend`
 * agree with what the driver reports, with a secret key of the gateway's own.
 * A CancelRequest reaches a session only with both; the session then
 * forwards a CancelRequest with the target's key, which the caller never
 * learns. The pid is not a secret (pg_stat_activity shows it); the key is.
 */
export class CancelRegistry {
  private readonly sessions = new Map<string, Cancellable>();

  /** `processId`: the target backend's pid; without one (the target sent no BackendKeyData) a made-up pid. */
  register(session: Cancellable, processId?: number): { processId: number; secretKey: number; release: () => void } {
    for (;;) {
      const pid = processId ?? randomInt(1, MAX_PID);
      const secretKey = randomInt(-0x80000000, 0x7fffffff);
      const key = `${pid}:${secretKey}`;
      // Two targets may reuse a pid; the secret still tells their sessions apart.
      if (this.sessions.has(key)) continue;
      this.sessions.set(key, session);
      return { processId: pid, secretKey, release: () => this.sessions.delete(key) };
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
