/**
 * Console sessions, held in this process: the browser holds only a random
 * session id in an HttpOnly cookie; the access token stays here and is sent
 * upstream by the API proxy. A session ends when its access token expires,
 * at logout, or when the console restarts (the person logs in again).
 *
 * Logins in progress (state → PKCE verifier) are kept apart and live ten
 * minutes; each is used once.
 */
import { randomBytes } from 'node:crypto';
import type { Identity } from '@portcullis/schemas';

export interface ConsoleSession {
  id: string;
  identity: Identity;
  accessToken: string;
  /** Sent back by the app in x-csrf-token on every mutation (double submit, tied to the session). */
  csrfToken: string;
  expiresAt: number;
}

export interface PendingLogin {
  codeVerifier: string;
  returnTo: string;
  expiresAt: number;
}

const LOGIN_TTL_MS = 10 * 60_000;
const MAX_PENDING_LOGINS = 10_000;

export function createSessionStore(now: () => number = Date.now) {
  const sessions = new Map<string, ConsoleSession>();
  const logins = new Map<string, PendingLogin>();
  const sweep = (): void => {
    const t = now();
    for (const [id, s] of sessions) if (s.expiresAt <= t) sessions.delete(id);
    for (const [state, l] of logins) if (l.expiresAt <= t) logins.delete(state);
  };

  return {
    startLogin(state: string, codeVerifier: string, returnTo: string): void {
      sweep();
      // A flood of unfinished logins must not grow memory without bound.
      if (logins.size >= MAX_PENDING_LOGINS) logins.delete(logins.keys().next().value!);
      logins.set(state, { codeVerifier, returnTo, expiresAt: now() + LOGIN_TTL_MS });
    },
    /** The login for state, removed: a state is good for one callback. */
    finishLogin(state: string): PendingLogin | undefined {
      const login = logins.get(state);
      logins.delete(state);
      return login && login.expiresAt > now() ? login : undefined;
    },
    create(identity: Identity, accessToken: string, expiresAt: number): ConsoleSession {
      sweep();
      const session = { id: randomBytes(32).toString('base64url'), identity, accessToken, csrfToken: randomBytes(24).toString('base64url'), expiresAt };
      sessions.set(session.id, session);
      return session;
    },
    get(id: string | undefined): ConsoleSession | undefined {
      if (!id) return undefined;
      const s = sessions.get(id);
      if (s && s.expiresAt <= now()) {
        sessions.delete(id);
        return undefined;
      }
      return s;
    },
    end(id: string | undefined): void {
      if (id) sessions.delete(id);
    },
  };
}

export type SessionStore = ReturnType<typeof createSessionStore>;
