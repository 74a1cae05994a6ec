/**
 * The caller's current access token, from wherever it comes:
 *
 *  1. PORTCULLIS_TOKEN — a token injected by a job runner (e.g. a CI
 *     provider's OIDC token exchanged for one the issuer accepts); used as is.
 *  2. PORTCULLIS_CLIENT_ID + PORTCULLIS_CLIENT_SECRET — a job's client
 *     credentials; a new token is asked for before the current one expires.
 *  3. The cached `portcullis login` for the issuer, refreshed with its
 *     refresh token before the access token expires.
 *
 * `token()` always answers a token valid for a while yet: long-running users
 * (`portcullis connect`, the kubectl plugin) call it for every connection.
 */
import { PortcullisError } from '@portcullis/kit';
import { discover } from './discovery.ts';
import { expiryOf } from './jwt-claims.ts';
import { OAuthError, tokenRequest, type TokenResponse } from './oauth.ts';
import { readLogin, withLoginLock, writeLogin, type CachedLogin } from './login-cache.ts';
import { loginResource } from './settings.ts';

export interface CurrentToken {
  accessToken: string;
  expiresAt: Date | undefined;
}

export interface TokenSource {
  /** Where tokens come from, for `whoami` and error messages. */
  readonly origin: 'environment token' | 'client credentials' | 'login';
  readonly issuer: string;
  token(): Promise<CurrentToken>;
}

/** Refresh this long before expiry: a quarter of the token's lifetime, at most a minute. */
export function refreshMarginMs(obtainedAt: Date, expiresAt: Date): number {
  return Math.min(60_000, Math.max(0, (expiresAt.getTime() - obtainedAt.getTime()) / 4));
}

export function needsRenewal(obtainedAt: Date, expiresAt: Date, now = new Date()): boolean {
  return expiresAt.getTime() - now.getTime() <= refreshMarginMs(obtainedAt, expiresAt);
}

export function loginFromTokenResponse(issuer: string, clientId: string, response: TokenResponse, previous?: CachedLogin): CachedLogin {
  const now = new Date();
  const expiresAt = expiryOf(response.access_token, response.expires_in ?? 300)!;
  return {
    issuer,
    clientId,
    accessToken: response.access_token,
    obtainedAt: now.toISOString(),
    expiresAt: expiresAt.toISOString(),
    // A provider that does not rotate refresh tokens sends none with a refresh: keep the one we have.
    refreshToken: response.refresh_token ?? previous?.refreshToken,
  };
}

export function tokenSource(issuer: string, env: NodeJS.ProcessEnv = process.env): TokenSource {
  if (env.PORTCULLIS_TOKEN) {
    const accessToken = env.PORTCULLIS_TOKEN.trim();
    return { origin: 'environment token', issuer, token: async () => ({ accessToken, expiresAt: expiryOf(accessToken) }) };
  }
  if (env.PORTCULLIS_CLIENT_ID || env.PORTCULLIS_CLIENT_SECRET) {
    const id = env.PORTCULLIS_CLIENT_ID;
    const secret = env.PORTCULLIS_CLIENT_SECRET;
    if (!id || !secret) throw new PortcullisError('PCL_ERR_CONFIG', 'set both PORTCULLIS_CLIENT_ID and PORTCULLIS_CLIENT_SECRET for client credentials');
    return clientCredentialsSource(issuer, { id, secret }, env);
  }
  return loginSource(issuer, env);
}

function clientCredentialsSource(issuer: string, client: { id: string; secret: string }, env: NodeJS.ProcessEnv): TokenSource {
  let current: { accessToken: string; obtainedAt: Date; expiresAt: Date } | undefined;
  let pending: Promise<CurrentToken> | undefined;
  const fetchToken = async (): Promise<CurrentToken> => {
    const { tokenEndpoint } = await discover(issuer);
    const resource = loginResource(env);
    const response = await tokenRequest(tokenEndpoint, { grant_type: 'client_credentials', ...(resource ? { resource } : {}) }, client).catch((err: unknown) => {
      if (err instanceof OAuthError) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', `${issuer} refused client credentials for ${client.id}: ${err.message}`);
      throw err;
    });
    const obtainedAt = new Date();
    current = { accessToken: response.access_token, obtainedAt, expiresAt: expiryOf(response.access_token, response.expires_in ?? 300)! };
    return current;
  };
  return {
    origin: 'client credentials',
    issuer,
    async token() {
      if (current && !needsRenewal(current.obtainedAt, current.expiresAt)) return current;
      pending ??= fetchToken().finally(() => (pending = undefined));
      return pending;
    },
  };
}

function loginSource(issuer: string, env: NodeJS.ProcessEnv): TokenSource {
  let pending: Promise<CurrentToken> | undefined;
  const fresh = (login: CachedLogin): boolean => !needsRenewal(new Date(login.obtainedAt), new Date(login.expiresAt));
  const asToken = (login: CachedLogin): CurrentToken => ({ accessToken: login.accessToken, expiresAt: new Date(login.expiresAt) });
  const notLoggedIn = () => new PortcullisError('PCL_ERR_NOT_LOGGED_IN', `not logged in to ${issuer}: run portcullis login${issuer === 'http://127.0.0.1:9400' ? '' : ` --issuer ${issuer}`}`);

  const refresh = async (): Promise<CurrentToken> =>
    withLoginLock(issuer, async () => {
      // Another process may have refreshed while we waited for the lock.
      const login = await readLogin(issuer, env);
      if (!login) throw notLoggedIn();
      if (fresh(login)) return asToken(login);
      if (!login.refreshToken) {
        throw new PortcullisError('PCL_ERR_LOGIN_EXPIRED', `your login at ${issuer} expired at ${login.expiresAt} and cannot be refreshed: run portcullis login`);
      }
      const { tokenEndpoint } = await discover(issuer);
      let response: TokenResponse;
      try {
        response = await tokenRequest(tokenEndpoint, { grant_type: 'refresh_token', client_id: login.clientId, refresh_token: login.refreshToken });
      } catch (err) {
        if (err instanceof OAuthError && (err.error === 'invalid_grant' || err.error === 'invalid_client' || err.error === 'unauthorized_client')) {
          throw new PortcullisError('PCL_ERR_LOGIN_EXPIRED', `your login at ${issuer} expired or was revoked (${err.error}): run portcullis login`);
        }
        throw err;
      }
      const renewed = loginFromTokenResponse(issuer, login.clientId, response, login);
      await writeLogin(renewed, env);
      return asToken(renewed);
    }, env);

  return {
    origin: 'login',
    issuer,
    async token() {
      const login = await readLogin(issuer, env);
      if (!login) throw notLoggedIn();
      if (fresh(login)) return asToken(login);
      pending ??= refresh().finally(() => (pending = undefined));
      return pending;
    },
  };
}
