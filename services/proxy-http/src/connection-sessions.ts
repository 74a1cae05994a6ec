import type { Socket } from 'node:net';
import type { Identity, ResourceRef } from '@portcullis/schemas';
import type { Arrival, Logger } from '@portcullis/kit';
import type { CommandGate, SessionEventSink } from './ports.ts';
import { HttpSession } from './recording.ts';
import type { LiveRequests } from './live-requests.ts';

/** A request of a session that is being served; `end` answers it or cuts it off when the session is ended from outside. */
export interface InFlight {
  end(reason: string): void;
}

/** One caller connection's session on one resource under one token. */
export interface ConnectionSession {
  readonly session: HttpSession;
  readonly token: string;
  /** When the token expires (ms since the epoch), if it says. */
  readonly expiresAt: number | undefined;
  readonly inFlight: Set<InFlight>;
  /** Why the session was ended from outside (revocation, expiry, an admin, drain); no request runs after that. */
  endedBy?: string;
}

/**
 * The sessions of the proxy's keep-alive connections: a caller that sends
 * many requests on one connection with one token is one session (one
 * SessionOpened, one SessionClosed, a command per request), as a psql or ssh
 * connection is. A different token or resource on the same connection is a
 * session of its own; a session ends when its connection closes or when it is
 * ended from outside, and then its connection is closed too.
 */
export class ConnectionSessions {
  private readonly bySocket = new WeakMap<Socket, Map<string, ConnectionSession>>();

  constructor(
    private readonly deps: { sink: SessionEventSink; gate: CommandGate; logger: Logger; live: LiveRequests },
  ) {}

  /** The connection's session on `resource` if it was opened with this very token, the token is unexpired and the session was not ended. */
  current(socket: Socket, resource: string, token: string): ConnectionSession | undefined {
    const s = this.bySocket.get(socket)?.get(resource);
    if (!s || s.endedBy !== undefined || s.token !== token) return undefined;
    if (s.expiresAt !== undefined && Date.now() >= s.expiresAt) return undefined;
    return s;
  }

  /** Opens a session for a verified token, closing the connection's previous session on the resource (another token). */
  open(
    socket: Socket,
    resource: ResourceRef,
    credential: { token: string; identity: Identity; expiresAt?: string | undefined },
    details: { clientAddress: string; userAgent?: string | undefined; arrival: Arrival },
  ): ConnectionSession {
    let sessions = this.bySocket.get(socket);
    if (!sessions) {
      const created = new Map<string, ConnectionSession>();
      sessions = created;
      this.bySocket.set(socket, created);
      socket.once('close', () => {
        for (const s of created.values()) this.finish(s);
        created.clear();
      });
    }
    const previous = sessions.get(resource.name);
    // Pipelined requests verified side by side: the first one's session serves both.
    if (previous && previous.token === credential.token && previous.endedBy === undefined) return previous;
    if (previous) this.finish(previous, previous.endedBy ?? 'the caller sent another token on this connection');
    const session = new HttpSession(this.deps, credential.identity, resource, {
      clientAddress: details.clientAddress,
      userAgent: details.userAgent,
      tokenExpiresAt: credential.expiresAt,
      arrival: details.arrival,
    });
    const expiresAt = credential.expiresAt ? Date.parse(credential.expiresAt) : undefined;
    const entry: ConnectionSession = { session, token: credential.token, expiresAt, inFlight: new Set() };
    sessions.set(resource.name, entry);
    const owner = sessions;
    this.deps.live.register(
      session.sessionId,
      (reason) => {
        entry.endedBy = reason;
        const running = [...entry.inFlight];
        for (const request of running) request.end(reason);
        this.finish(entry, reason);
        if (owner.get(resource.name) === entry) owner.delete(resource.name);
        // Nothing runs on this connection under the ended session: close it once the answers are out.
        if (running.length === 0) socket.end();
      },
      () => entry.inFlight.size > 0,
    );
    session.opening.catch(() => {
      // A session whose opening was not recorded takes no more requests; the next one opens a new session.
      if (owner.get(resource.name) === entry) owner.delete(resource.name);
      this.deps.live.unregister(session.sessionId);
    });
    return entry;
  }

  private finish(entry: ConnectionSession, reason?: string): void {
    this.deps.live.unregister(entry.session.sessionId);
    void entry.session.close(reason);
  }
}
