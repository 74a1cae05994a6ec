/**
 * The requests (and upgraded streams) this proxy is serving, by session id,
 * each with the way to end it from outside: the access guard's revocations,
 * token expiry, an admin's kill and the drain reach them through here.
 */
export class LiveRequests {
  private readonly ends = new Map<string, (reason: string) => void>();

  /** `end` answers or cuts off the request, saying why; returns the unregister function. */
  register(sessionId: string, end: (reason: string) => void): () => void {
    this.ends.set(sessionId, end);
    return () => this.ends.delete(sessionId);
  }

  has(sessionId: string): boolean {
    return this.ends.has(sessionId);
  }

  terminate(sessionId: string, reason: string): void {
    const end = this.ends.get(sessionId);
    if (!end) return;
    this.ends.delete(sessionId);
    end(reason);
  }
}
