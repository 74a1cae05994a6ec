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
  /** Commands begun and not yet recorded as completed: SessionClosed waits for them, so it stays the last event. */
  commands: number;
  /** Why the session was ended from outside (revocation, expiry, an admin, drain); no request runs after that. */
  endedBy?: string;
  /** Closing (its connection closed or another token came): takes no more requests; closed once its commands are recorded. */
  retiring?: { reason: string | undefined; timer?: NodeJS.Timeout };
  closed?: boolean;
}

/** How long a closing session waits for its commands' completion records before it is closed anyway. */
const RETIRE_WAIT_MS = 30_000;

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
    if (!s || s.endedBy !== undefined || s.retiring || s.token !== token) return undefined;
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
        for (const s of created.values()) this.retire(s, undefined);
        created.clear();
      });
    }
    const previous = sessions.get(resource.name);
    // Pipelined requests verified side by side: the first one's session serves both.
    if (previous && previous.token === credential.token && previous.endedBy === undefined && !previous.retiring) return previous;
    if (previous) this.retire(previous, previous.endedBy ?? 'the caller sent another token on this connection');
    const session = new HttpSession(this.deps, credential.identity, resource, {
      clientAddress: details.clientAddress,
      userAgent: details.userAgent,
      tokenExpiresAt: credential.expiresAt,
      arrival: details.arrival,
    });
    const expiresAt = credential.expiresAt ? Date.parse(credential.expiresAt) : undefined;
    const entry: ConnectionSession = { session, token: credential.token, expiresAt, inFlight: new Set(), commands: 0 };
    sessions.set(resource.name, entry);
    const owner = sessions;
    this.deps.live.register(
      session.sessionId,
      (reason) => {
        entry.endedBy = reason;
        const running = [...entry.inFlight];
        // Each running request records its cancellation before the session's close.
        for (const request of running) request.end(reason);
        this.retire(entry, reason);
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

  /** A request's command begins on the session. */
  commandBegun(entry: ConnectionSession): void {
    entry.commands++;
  }

  /** A request's command was recorded as completed; a closing session closes after its last one. */
  commandDone(entry: ConnectionSession): void {
    entry.commands = Math.max(0, entry.commands - 1);
    if (entry.retiring && entry.commands === 0) this.close(entry);
  }

  private retire(entry: ConnectionSession, reason: string | undefined): void {
    if (entry.retiring || entry.closed) return;
    entry.retiring = { reason };
    if (entry.commands === 0) return this.close(entry);
    // A command whose completion never comes must not keep the session open for ever.
    entry.retiring.timer = setTimeout(() => this.close(entry), RETIRE_WAIT_MS).unref();
  }

  private close(entry: ConnectionSession): void {
    if (entry.closed) return;
    entry.closed = true;
    clearTimeout(entry.retiring?.timer);
    this.deps.live.unregister(entry.session.sessionId);
    void entry.session.close(entry.retiring?.reason);
  }
}
