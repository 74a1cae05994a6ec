/**
 * OpenID discovery for the CLI. Tokens and refresh tokens travel to these
 * endpoints, so every one must be https, or http on loopback (the local
 * development provider): a plain-http issuer elsewhere is refused.
 */
import { PortcullisError } from '@portcullis/kit';

export interface IssuerEndpoints {
  issuer: string;
  authorizationEndpoint?: string;
  tokenEndpoint: string;
  deviceAuthorizationEndpoint?: string;
}

export function isSafeEndpoint(url: string): boolean {
  const u = URL.parse(url);
  if (!u) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
}

const cache = new Map<string, IssuerEndpoints>();

export async function discover(issuer: string): Promise<IssuerEndpoints> {
  const known = cache.get(issuer);
  if (known) return known;
  if (!isSafeEndpoint(issuer)) {
    throw new PortcullisError('PCL_ERR_CONFIG', `issuer ${issuer} is not https: tokens are only sent over TLS (or to a provider on loopback)`);
  }
  let doc: Record<string, unknown>;
  try {
    const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as Record<string, unknown>;
  } catch (err) {
    throw new PortcullisError('PCL_ERR_IDP_UNAVAILABLE', `cannot reach the OpenID provider ${issuer}: ${(err as Error).message}`, { cause: err });
  }
  if (doc.issuer !== issuer) throw new PortcullisError('PCL_ERR_CONFIG', `OpenID discovery at ${issuer} names another issuer (${String(doc.issuer)})`);
  const endpoint = (name: string): string | undefined => {
    const v = doc[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !isSafeEndpoint(v)) throw new PortcullisError('PCL_ERR_CONFIG', `OpenID discovery at ${issuer}: ${name} is not an https URL`);
    return v;
  };
  const tokenEndpoint = endpoint('token_endpoint');
  if (!tokenEndpoint) throw new PortcullisError('PCL_ERR_CONFIG', `OpenID discovery at ${issuer} has no token_endpoint`);
  const found: IssuerEndpoints = {
    issuer,
    tokenEndpoint,
    authorizationEndpoint: endpoint('authorization_endpoint'),
    deviceAuthorizationEndpoint: endpoint('device_authorization_endpoint'),
  };
  cache.set(issuer, found);
  return found;
}
