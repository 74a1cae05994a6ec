/**
 * Signing keys of trusted issuers, found by OpenID discovery
 * (OpenID Connect Discovery 1.0 §4) and fetched with jose's remote JWKS, which
 * caches keys and refetches when a token names a kid it has not seen (key
 * rotation). Discovery results are cached per issuer; a failed discovery is
 * forgotten so the next token tries again.
 */
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { IdentityError } from './errors.ts';

export interface IssuerKeysOptions {
  fetchTimeoutMs: number;
  /** How long a discovery document is trusted before it is fetched again. */
  discoveryTtlMs: number;
}

export interface IssuerKeys {
  keysFor(issuer: string, jwksUri?: string): Promise<JWTVerifyGetKey>;
}

export function createIssuerKeys({ fetchTimeoutMs, discoveryTtlMs }: IssuerKeysOptions): IssuerKeys {
  const cache = new Map<string, { fetchedAt: number; keys: Promise<JWTVerifyGetKey> }>();

  async function discover(issuer: string, jwksUri?: string): Promise<JWTVerifyGetKey> {
    const uri = jwksUri ?? (await discoverJwksUri(issuer, fetchTimeoutMs));
    return createRemoteJWKSet(new URL(uri), {
      timeoutDuration: fetchTimeoutMs,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });
  }

  return {
    keysFor(issuer, jwksUri) {
      const cached = cache.get(issuer);
      if (cached && Date.now() - cached.fetchedAt < discoveryTtlMs) return cached.keys;
      const keys = discover(issuer, jwksUri);
      cache.set(issuer, { fetchedAt: Date.now(), keys });
      keys.catch(() => {
        if (cache.get(issuer)?.keys === keys) cache.delete(issuer);
      });
      return keys;
    },
  };
}

async function discoverJwksUri(issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const unavailable = (why: string, cause?: unknown) =>
    new IdentityError(
      'issuer_unavailable',
      `Portcullis could not look up the signing keys of the identity provider ${issuer}: ${why}. Try again shortly; if it persists, check the issuer URL in the Portcullis configuration.`,
      { issuer, cause },
    );

  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw unavailable(`${url} did not answer (${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message})`, err);
  }
  if (!res.ok) throw unavailable(`${url} answered HTTP ${res.status}`);

  let metadata: { issuer?: unknown; jwks_uri?: unknown };
  try {
    metadata = (await res.json()) as typeof metadata;
  } catch (err) {
    throw unavailable(`${url} did not return JSON`, err);
  }
  // Discovery §4.3: the document must name exactly the issuer it was fetched for.
  if (metadata.issuer !== issuer) {
    throw unavailable(`its discovery document names the issuer ${JSON.stringify(metadata.issuer)}, not ${JSON.stringify(issuer)}`);
  }
  if (typeof metadata.jwks_uri !== 'string' || URL.parse(metadata.jwks_uri) === null) {
    throw unavailable('its discovery document has no jwks_uri');
  }
  if (!isSecureUrl(metadata.jwks_uri)) {
    throw unavailable(`its jwks_uri ${metadata.jwks_uri} is neither https nor on loopback`);
  }
  return metadata.jwks_uri;
}

/** https, or http to this machine (local development and tests). */
export function isSecureUrl(value: string): boolean {
  const url = URL.parse(value);
  if (url === null) return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}
