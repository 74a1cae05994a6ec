/**
 * The console as an OpenID Connect client: authorization code flow with PKCE
 * (RFC 7636, S256) against the configured issuer, the issuer checked on the
 * way back (RFC 9207). The console is a backend for its single-page app: the
 * browser never sees a token, only an HttpOnly session cookie (sessions.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import { PortcullisError } from '@portcullis/kit';

export interface OidcClientConfig {
  issuer: string;
  clientId: string;
  /** Confidential clients only; the local provider's console client is public (PKCE alone). */
  clientSecret?: string;
  /** Where the provider sends the browser back: <console URL>/auth/callback. */
  redirectUri: string;
  /** RFC 8707 resource indicator for Portcullis' APIs (local provider: urn:portcullis); empty to send none. */
  resource?: string;
  scope?: string;
}

export interface AuthorizationRequest {
  url: string;
  state: string;
  codeVerifier: string;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  end_session_endpoint?: string;
}

const random = (): string => randomBytes(32).toString('base64url');

export function createOidcClient(config: OidcClientConfig) {
  let discovery: Promise<Discovery> | undefined;
  const discover = (): Promise<Discovery> => {
    discovery ??= fetch(`${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) })
      .then(async (res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        const d = (await res.json()) as Partial<Discovery>;
        if (typeof d.authorization_endpoint !== 'string' || typeof d.token_endpoint !== 'string') throw new Error('no authorization or token endpoint');
        return d as Discovery;
      })
      .catch((err: Error) => {
        discovery = undefined;
        throw new PortcullisError('PCL_ERR_IDP_UNAVAILABLE', `OpenID discovery at ${config.issuer} failed: ${err.message}`, { cause: err });
      });
    return discovery;
  };

  return {
    async authorizationRequest(): Promise<AuthorizationRequest> {
      const { authorization_endpoint: endpoint } = await discover();
      const state = random();
      const codeVerifier = random();
      const url = new URL(endpoint);
      const params: Record<string, string> = {
        client_id: config.clientId,
        response_type: 'code',
        scope: config.scope ?? 'openid profile email groups',
        redirect_uri: config.redirectUri,
        state,
        code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
        code_challenge_method: 'S256',
        // Always ask who is at the keyboard: a shared browser must not inherit the last person.
        prompt: 'login',
      };
      if (config.resource) params.resource = config.resource;
      for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
      return { url: url.toString(), state, codeVerifier };
    },

    /** Trades the code for an access token; the caller verifies the token itself. */
    async exchange(code: string, codeVerifier: string): Promise<string> {
      const { token_endpoint: endpoint } = await discover();
      const body = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: config.redirectUri, code_verifier: codeVerifier });
      if (config.resource) body.set('resource', config.resource);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
      if (config.clientSecret) {
        headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(config.clientId)}:${encodeURIComponent(config.clientSecret)}`).toString('base64')}`;
      } else {
        body.set('client_id', config.clientId);
      }
      const res = await fetch(endpoint, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) }).catch((err: Error) => {
        throw new PortcullisError('PCL_ERR_IDP_UNAVAILABLE', `the token endpoint of ${config.issuer} is unreachable: ${err.message}`);
      });
      const json = (await res.json().catch(() => ({}))) as { access_token?: unknown; error?: string; error_description?: string };
      if (!res.ok || typeof json.access_token !== 'string') {
        // The OAuth error code and description only: never the code or verifier.
        throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', `${config.issuer} refused the login: ${json.error ?? `HTTP ${res.status}`}${json.error_description ? ` (${json.error_description})` : ''}`);
      }
      return json.access_token;
    },

    async endSessionUrl(): Promise<string | undefined> {
      return (await discover().catch(() => undefined))?.end_session_endpoint;
    },
  };
}

export type OidcClient = ReturnType<typeof createOidcClient>;
