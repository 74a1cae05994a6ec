/**
 * What ends a proxy's sessions besides the caller: a revocation, an admin's
 * kill, the token running out, and the proxy's own shutdown. One guard per
 * proxy process; each proxy adds a small adapter (a SessionControl that
 * ends one of its sessions in its protocol's words).
 *
 *   revocations  follows the compacted portcullis.revocations topic (read
 *                whole before the proxy accepts anything); a revocation
 *                ends every live session it covers as soon as it is read
 *                (long-poll 200 ms), an admin's SessionTerminated ends that
 *                session, and new credentials it covers are refused.
 *   lifetime     a session opened with a token ends when the token expires
 *                plus `tokenGraceMs` (PostgreSQL and SSH have no in-band
 *                refresh); an HTTP request carries its own token.
 *   presence     every `heartbeatMs` (and soon after a change) the proxy
 *                publishes which sessions it serves on
 *                portcullis.gateway-presence; a crashed proxy stops, so its
 *                sessions stop counting as live.
 *   drain        on SIGTERM: refuse new sessions, let running commands
 *                finish within a grace, then end every session with the
 *                shutdown reason.
 *
 * Sessions are learnt from the session record itself (guardSink sees
 * SessionOpened / SessionClosed), so no proxy keeps a second list.
 */
import { hostname } from 'node:os';
import { newId, nowIso, targetKey, type GatewayHeartbeat, type Identity, type LiveSessionView, type SessionTopicEvent } from '@portcullis/schemas';
import type { Bus } from '../bus/bus.ts';
import { followTopic, type Follower } from '../bus/follow.ts';
import { describeError, PortcullisError } from '../errors.ts';
import { IdentityError } from '../identity/errors.ts';
import type { VerifiedToken } from '../identity/verifier.ts';
import type { Logger } from '../logger.ts';
import type { SessionEventSink } from '../session-record.ts';
import { evolveRevocations, initialRevocationState, refusalOf, revocationMessage, targetCovers, type RevocationState } from './revocation-state.ts';

/** How a proxy ends one of its sessions. */
export interface SessionControl {
  /** End the session now, telling the caller `reason` in the protocol's words; records SessionClosed with it. */
  terminate(sessionId: string, reason: string): void;
  /** Is a command of this session running (drain waits for it, up to the grace)? */
  busy?(sessionId: string): boolean;
}

export interface AccessGuardOptions {
  bus: Bus;
  logger: Logger;
  /** proxy-postgres, proxy-ssh, proxy-http: with host and pid it names this instance. */
  service: string;
  /** After a token expires, its session may go on this long (no in-band refresh in PostgreSQL or SSH). Default 0. */
  tokenGraceMs?: number;
  /** The revocation list may go this long without a fetch answering; then new sessions are refused. Default 10 s. */
  stalenessMs?: number;
  /** How often the presence heartbeat is published. Default 5 s. */
  heartbeatMs?: number;
}

export interface AccessGuard {
  readonly instance: string;
  /** Why this credential may not open a session now, or undefined. */
  refusal(credential: { identity: Identity; issuedAt?: string }): string | undefined;
  /** The verifier, refusing tokens of revoked identities, groups and clients (IdentityError 'revoked'). */
  guardVerifier<V extends { verifyToken(token: string): Promise<VerifiedToken> }>(verifier: V): V;
  /** The session sink, learning which sessions live here from SessionOpened / SessionClosed. */
  guardSink<S extends SessionEventSink>(sink: S): S;
  /** The proxy's way to end its sessions (several: one per listener). */
  attach(control: SessionControl): void;
  /** The sessions this instance serves now. */
  live(): LiveSessionView[];
  /** Stop accepting sessions, let running commands finish within `graceMs`, then end every session with `reason`. */
  drain(options: { graceMs: number; reason: string }): Promise<void>;
  /** Publishes the last heartbeat (stopping) and stops following. */
  stop(): Promise<void>;
  /** The revocation list as read so far (tests, diagnostics). */
  state(): RevocationState;
}

export async function startAccessGuard(options: AccessGuardOptions): Promise<AccessGuard> {
  const { bus, logger, tokenGraceMs = 0, stalenessMs = 10_000, heartbeatMs = 5000 } = options;
  const instance = `${options.service}@${hostname()}:${process.pid}:${newId().slice(-8)}`;
  const live = new Map<string, LiveSessionView & { expiry?: NodeJS.Timeout }>();
  /** One per listener a proxy runs (the HTTP proxy may serve plain and TLS); each ignores sessions not its own. */
  const controls = new Set<SessionControl>();
  let state = initialRevocationState;
  let draining: string | undefined;
  let stopped = false;

  const end = (sessionId: string, reason: string): void => {
    const session = live.get(sessionId);
    if (!session) return;
    logger.info({ sessionId, subject: session.identity.subject, reason }, 'ending session');
    try {
      for (const control of controls) control.terminate(sessionId, reason);
    } catch (err) {
      logger.error({ sessionId, err: describeError(err) }, 'session could not be ended');
    }
  };

  const follower: Follower = await followTopic(bus, 'revocations', (event) => {
    state = evolveRevocations(state, event);
    if (event.type === 'SessionTerminated') {
      if (live.has(event.sessionId)) end(event.sessionId, `session ended by ${event.terminatedBy.subject}: ${event.reason}`);
      return;
    }
    if (event.type !== 'IdentityRevoked') return;
    const entry = state.entries.get(targetKey(event.target));
    const message = entry ? revocationMessage(entry) : event.reason;
    for (const session of [...live.values()]) {
      if (targetCovers(event.target, session.identity)) end(session.sessionId, message);
    }
  }, { name: `revocations-${instance}` });
  await follower.caughtUp;
  logger.info({ instance, revocations: state.entries.size }, 'revocation list read');

  const stale = (): string | undefined => {
    const age = Date.now() - follower.lastFetchAt();
    if (age <= stalenessMs) return undefined;
    return `the revocation list could not be refreshed from ${bus.names.of('revocations')} for ${(age / 1000).toFixed(1)} s, so new sessions are refused until it can be read`;
  };

  // ---------------------------------------------------------------- presence
  const heartbeat = (stopping = false): GatewayHeartbeat => ({
    type: 'GatewayHeartbeat',
    eventId: newId(),
    occurredAt: nowIso(),
    sessionId: instance,
    instance,
    service: options.service,
    intervalMs: heartbeatMs,
    stopping,
    sessions: stopping ? [] : [...live.values()].map(({ expiry: _expiry, ...view }) => view),
  });
  const beat = (): void => {
    if (stopped) return;
    bus.publish('presence', heartbeat()).catch((err: unknown) => logger.warn({ err: describeError(err) }, 'presence heartbeat not published'));
  };
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  let soon: NodeJS.Timeout | undefined;
  const beatSoon = (): void => {
    soon ??= setTimeout(() => {
      soon = undefined;
      beat();
    }, 100);
    soon.unref();
  };
  beat();

  // ---------------------------------------------------------------- sessions
  const opened = (event: Extract<SessionTopicEvent, { type: 'SessionOpened' }>): void => {
    const view: LiveSessionView & { expiry?: NodeJS.Timeout } = {
      sessionId: event.sessionId,
      identity: event.identity,
      resource: event.resource,
      protocol: event.protocol,
      openedAt: event.occurredAt,
      clientAddress: event.clientAddress,
      ...(event.tokenExpiresAt ? { tokenExpiresAt: event.tokenExpiresAt } : {}),
    };
    live.set(event.sessionId, view);
    if (event.tokenExpiresAt) {
      const endsAt = Date.parse(event.tokenExpiresAt) + tokenGraceMs;
      const reason = `the access token this session was opened with expired at ${event.tokenExpiresAt}${tokenGraceMs > 0 ? ` (grace ${Math.round(tokenGraceMs / 1000)} s)` : ''}; connect again with a new token`;
      view.expiry = setTimeout(() => end(event.sessionId, reason), Math.max(0, Math.min(endsAt - Date.now(), 2 ** 31 - 1)));
      view.expiry.unref();
    }
    // Revoked between the token check and the record (or while the proxy drains): end it at once.
    const why = draining ?? activeRevocation(event.identity);
    if (why) setImmediate(() => end(event.sessionId, why));
    beatSoon();
  };
  const closed = (sessionId: string): void => {
    const session = live.get(sessionId);
    if (!session) return;
    clearTimeout(session.expiry);
    live.delete(sessionId);
    beatSoon();
  };
  /** A revocation in force covering this identity (a restore's iat rule needs the token and is checked at admission). */
  const activeRevocation = (identity: Identity): string | undefined => {
    for (const entry of state.entries.values()) if (!entry.restored && targetCovers(entry.target, identity)) return revocationMessage(entry);
    return undefined;
  };

  const guard: AccessGuard = {
    instance,
    state: () => state,
    refusal(credential) {
      return draining ?? stale() ?? refusalOf(state, credential);
    },
    guardVerifier(verifier) {
      const guarded = Object.create(verifier) as typeof verifier;
      guarded.verifyToken = async (token: string) => {
        const verified = await verifier.verifyToken(token);
        if (draining) throw new PortcullisError('PCL_ERR_SHUTTING_DOWN', draining);
        const why = guard.refusal({ identity: verified.identity, ...(verified.issuedAt ? { issuedAt: verified.issuedAt } : {}) });
        if (why) throw new IdentityError('revoked', why, { issuer: verified.identity.issuer });
        return verified;
      };
      if ('verify' in verifier && typeof verifier.verify === 'function') {
        (guarded as unknown as { verify(token: string): Promise<Identity> }).verify = async (token: string) => (await guarded.verifyToken(token)).identity;
      }
      return guarded;
    },
    guardSink(sink) {
      const guarded = Object.create(sink) as typeof sink;
      guarded.publish = async (event: SessionTopicEvent) => {
        await sink.publish(event);
        if (event.type === 'SessionOpened') opened(event);
        else if (event.type === 'SessionClosed') closed(event.sessionId);
      };
      return guarded;
    },
    attach(control) {
      controls.add(control);
    },
    live: () => [...live.values()].map(({ expiry: _expiry, ...view }) => view),
    async drain({ graceMs, reason }) {
      draining = reason;
      const deadline = Date.now() + graceMs;
      await Promise.all(
        [...live.keys()].map(async (sessionId) => {
          while ([...controls].some((c) => c.busy?.(sessionId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
          end(sessionId, reason);
        }),
      );
      // Let the proxies write SessionClosed before the bus goes away.
      const until = Date.now() + 3000;
      while (live.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      clearTimeout(soon);
      for (const s of live.values()) clearTimeout(s.expiry);
      await bus.publish('presence', heartbeat(true)).catch((err: unknown) => logger.warn({ err: describeError(err) }, 'last presence heartbeat not published'));
      await follower.stop();
    },
  };
  return guard;
}
