/**
 * Real access tokens from the local OpenID provider, for tests and the demo.
 *
 *   issueServiceToken(issuer, 'ci-deploy')        client credentials grant
 *   issueHumanToken(issuer, 'alice')              dev-login grant
 *   issueHumanToken(issuer, 'alice', { ttlSeconds: 2 })
 *   issueShortLivedServiceToken(issuer)           a service token that lives 2 s
 *
 * Client secrets are read from the provider's data dir and sent only to a
 * loopback issuer.
 */
import {
  DEV_LOGIN_CLIENT,
  DEV_LOGIN_GRANT,
  SHORT_LIVED_SERVICE_CLIENT,
} from './directory.ts';
import { dataDirFor } from './known-providers.ts';
import { isLoopbackIssuer } from './locations.ts';
import { readClientSecret } from './provider-state.ts';

export interface TokenRequestOptions {
  /** Where the client secrets are; default: the data dir the issuer was started with (see known-providers.ts). */
  dataDir?: string;
  /** RFC 8707 resource indicator; default urn:portcullis (audience "portcullis"). Any other URI becomes the audience. */
  resource?: string;
}

export interface HumanTokenOptions extends TokenRequestOptions {
  /** Token lifetime, 1–3600 s; default 900. */
  ttlSeconds?: number;
}

/** The token endpoint refused a request; carries the OAuth error, never a secret. */
export class TokenRequestError extends Error {
  override readonly name = 'TokenRequestError';
  constructor(
    readonly error: string,
    description: string,
  ) {
    super(description);
  }
}

export async function issueServiceToken(issuer: string, clientId: string, options: TokenRequestOptions = {}): Promise<string> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  if (options.resource) body.set('resource', options.resource);
  return requestToken(issuer, clientId, body, options);
}

export async function issueHumanToken(issuer: string, username: string, options: HumanTokenOptions = {}): Promise<string> {
  const body = new URLSearchParams({ grant_type: DEV_LOGIN_GRANT, username });
  if (options.ttlSeconds !== undefined) body.set('expires_in', String(options.ttlSeconds));
  if (options.resource) body.set('resource', options.resource);
  return requestToken(issuer, DEV_LOGIN_CLIENT, body, options);
}

/** A service token (client expiry-probe, groups ci) that expires two seconds after issue. */
export async function issueShortLivedServiceToken(issuer: string, options: TokenRequestOptions = {}): Promise<string> {
  return issueServiceToken(issuer, SHORT_LIVED_SERVICE_CLIENT, options);
}

const tokenEndpoints = new Map<string, string>();

async function requestToken(issuer: string, clientId: string, body: URLSearchParams, options: TokenRequestOptions): Promise<string> {
  if (!isLoopbackIssuer(issuer)) {
    throw new Error(`token helpers only talk to a local provider; ${issuer} is not on loopback`);
  }
  const dataDir = options.dataDir ?? dataDirFor(issuer);
  const secret = await readClientSecret(dataDir, clientId);
  if (secret === undefined) {
    throw new Error(`no secret for client "${clientId}" in ${dataDir}; is the OIDC provider for ${issuer} started from that data dir?`);
  }

  const res = await fetch(await tokenEndpoint(issuer), {
    method: 'POST',
    headers: {
      // RFC 6749 §2.3.1: form-encode id and secret before Basic encoding.
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body,
    signal: AbortSignal.timeout(10_000),
  });
  const json = (await res.json().catch(() => ({}))) as { access_token?: string; error?: string; error_description?: string };
  if (!res.ok || typeof json.access_token !== 'string') {
    throw new TokenRequestError(
      json.error ?? `http_${res.status}`,
      `${issuer} refused a token for ${clientId}: ${json.error ?? res.status}${json.error_description ? ` (${json.error_description})` : ''}`,
    );
  }
  return json.access_token;
}

async function tokenEndpoint(issuer: string): Promise<string> {
  const cached = tokenEndpoints.get(issuer);
  if (cached) return cached;
  const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`OpenID discovery at ${issuer} answered HTTP ${res.status}`);
  const { token_endpoint: endpoint } = (await res.json()) as { token_endpoint?: string };
  if (typeof endpoint !== 'string' || !isLoopbackIssuer(endpoint)) {
    throw new Error(`OpenID discovery at ${issuer} gave no loopback token_endpoint`);
  }
  tokenEndpoints.set(issuer, endpoint);
  return endpoint;
}
