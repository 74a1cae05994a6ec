/**
 * The trusted issuer every service process reads from the same environment:
 *   PORTCULLIS_OIDC_ISSUER       default http://127.0.0.1:9400 (the local provider)
 *   PORTCULLIS_OIDC_AUDIENCE     default portcullis
 *   PORTCULLIS_OIDC_TOKEN_TYPES  comma-separated JWT `typ` values of access tokens; default at+jwt
 */
import type { TrustedIssuer } from './verifier.ts';

export function trustedIssuerFromEnv(env: NodeJS.ProcessEnv = process.env): TrustedIssuer {
  const tokenTypes = (env.PORTCULLIS_OIDC_TOKEN_TYPES ?? '').split(',').map((t) => t.trim()).filter(Boolean);
  return {
    issuer: env.PORTCULLIS_OIDC_ISSUER || 'http://127.0.0.1:9400',
    audience: env.PORTCULLIS_OIDC_AUDIENCE || 'portcullis',
    ...(tokenTypes.length > 0 ? { tokenTypes } : {}),
  };
}
