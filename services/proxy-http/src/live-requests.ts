/**
 * The sessions this proxy is serving (keep-alive connections and upgraded
 * streams), by session id, each with the way to end it from outside: the
 * access guard's revocations, token expiry, an admin's kill and the drain
 * reach them through here.
 */
export class LiveRequests {
  private readonly sessions = new Map<string, { end: (reason: string) => void; busy: () => boolean }>();

  /** `end` answers or cuts off what runs and closes the session, saying why; `busy`: is a request of it running? Returns the unregister function. */
  register(sessionId: string, end: (reason: string) => void, busy: () => boolean = () => true): () => void {
    this.sessions.set(sessionId, { end, busy });
    return () => this.unregister(sessionId);
  }

  unregister(sessionId: string): void {
    this.sessions.delete(sessionId);
  }

  /** A request of the session is running (a draining proxy lets it finish within the grace). */
  busy(sessionId: string): boolean {
    return this.sessions.get(sessionId)?.busy() ?? false;
  }

  terminate(sessionId: string, reason: string): void {
    const session = this.sessions.get(sessionId);
    if (!session) return;
    this.sessions.delete(sessionId);
    session.end(reason);
  }
}
