/**
 * The MCP authorization section (2025-06-18): this service is an OAuth 2.0
 * protected resource. It publishes protected-resource metadata (RFC 9728)
 * naming the configured OpenID issuer as its authorization server, accepts
 * bearer tokens in the Authorization header only, verifies them as the
 * proxies do (signature, issuer, audience, expiry, token type), and answers
 * a request without a valid token 401 with a WWW-Authenticate header that
 * points at the metadata (RFC 9728 §5.1, RFC 6750 §3).
 */
import type { Identity } from '@portcullis/schemas';
import { describeError, type IdentityVerifier } from '@portcullis/kit';
import { McpServiceError } from './errors.ts';

export const METADATA_PATH = '/.well-known/oauth-protected-resource';

export interface ProtectedResource {
  /** The MCP endpoint's URL: the resource identifier tokens are for. */
  resource: string;
  /** Where its metadata document is served. */
  metadataUrl: string;
  issuer: string;
}

/** The metadata for the resource at `path` of `publicUrl` (`/mcp`, `/mcp/r/files`). */
export function protectedResource(publicUrl: string, path: string, issuer: string): ProtectedResource {
  const base = publicUrl.replace(/\/+$/, '');
  return { resource: `${base}${path}`, metadataUrl: `${base}${METADATA_PATH}${path}`, issuer };
}

export function metadataDocument(r: ProtectedResource): Record<string, unknown> {
  return {
    resource: r.resource,
    authorization_servers: [r.issuer],
    bearer_methods_supported: ['header'],
    resource_name: 'Portcullis',
    resource_documentation: 'https://github.com/portcullis/portcullis/blob/main/docs/protocols/mcp.md',
  };
}

/** RFC 6750 §3 challenge: no credentials → no error code; a refused token → invalid_token with a description. */
export function challenge(r: ProtectedResource, error?: { code: 'invalid_token' | 'invalid_request'; description: string }): string {
  const parts = [`resource_metadata="${r.metadataUrl}"`];
  if (error) parts.push(`error="${error.code}"`, `error_description="${error.description.replace(/["\\\r\n]/g, ' ').slice(0, 300)}"`);
  return `Bearer ${parts.join(', ')}`;
}

export type Authentication =
  | { ok: true; identity: Identity; token: string; expiresAt?: string }
  | { ok: false; error: McpServiceError; challenge?: { code: 'invalid_token' | 'invalid_request'; description: string } };

/** The caller behind an Authorization header; tokens in query strings or bodies are not looked at. */
export async function authenticate(verifier: IdentityVerifier, authorization: string | string[] | undefined): Promise<Authentication> {
  if (authorization === undefined) return { ok: false, error: new McpServiceError('PCL_ERR_UNAUTHENTICATED', 'send your Portcullis access token as "Authorization: Bearer <token>"') };
  const value = Array.isArray(authorization) ? undefined : authorization;
  const m = value ? /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(value) : null;
  if (!m) {
    const description = 'the Authorization header is not "Bearer <token>"';
    return { ok: false, error: new McpServiceError('PCL_ERR_UNAUTHENTICATED', description), challenge: { code: 'invalid_request', description } };
  }
  try {
    const verified = await verifier.verifyToken(m[1]!);
    return { ok: true, identity: verified.identity, token: m[1]!, ...(verified.expiresAt ? { expiresAt: verified.expiresAt } : {}) };
  } catch (err) {
    const reason = (err as { reason?: string }).reason;
    if (reason === 'issuer_unavailable') return { ok: false, error: new McpServiceError('PCL_ERR_IDP_UNAVAILABLE', describeError(err)) };
    const description = describeError(err);
    return { ok: false, error: new McpServiceError('PCL_ERR_UNAUTHENTICATED', description), challenge: { code: 'invalid_token', description } };
  }
}
