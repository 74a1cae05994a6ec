/**
 * Verifies a caller's OAuth 2.0 / OIDC access token (a JWT, RFC 9068 or any
 * IdP's JWT access token) and says who the caller is.
 *
 *   const verifier = createIdentityVerifier({
 *     issuers: [{ issuer: 'https://login.example.com', audience: 'portcullis' }],
 *     clockToleranceSeconds: 30,
 *   });
 *   const identity = await verifier.verify(bearerToken); // or throws IdentityError
 *
 * Order of checks: shape → issuer is trusted → signature against the issuer's
 * published keys → expiry / not-before / audience → token type → claims.
 * Only asymmetric algorithms are accepted, so a token cannot be "signed" with
 * a public key or with alg "none".
 *
 * Only access tokens are accepted: the JWT header's `typ` must be one of the
 * issuer's `tokenTypes` (default `at+jwt`, RFC 9068 §2.1), and a token with
 * an ID token's claims (`nonce`, `at_hash`, `c_hash`, or Keycloak's
 * `typ: "ID"`) is refused whatever its header says. An ID token proves a
 * login to a client; it was never meant to open Portcullis.
 */
import {
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type ProtectedHeaderParameters,
} from 'jose';
import type { Identity } from '@portcullis/schemas';
import { PortcullisError } from '../errors.ts';
import { identityFromClaims, type ClaimMapping } from './claims.ts';
import { IdentityError, quoteClaim } from './errors.ts';
import { createIssuerKeys, isSecureUrl } from './issuer-keys.ts';

export interface TrustedIssuer extends ClaimMapping {
  /** Exactly the `iss` the IdP writes into tokens, e.g. https://keycloak.example.com/realms/infra. */
  issuer: string;
  /** The `aud` Portcullis expects; a token must carry at least one of them. */
  audience: string | string[];
  /** Skip discovery and fetch keys from here (for IdPs without OpenID discovery). */
  jwksUri?: string;
  /** Accepted signature algorithms; default all asymmetric ones (RS*, PS*, ES*, EdDSA). */
  algorithms?: string[];
  /**
   * Accepted JWT header `typ` values (case-insensitive, `application/` optional); default
   * `["at+jwt"]`. For an IdP that writes `typ: JWT` on its access tokens, set `["JWT"]`; `"*"`
   * accepts any or no `typ`. ID tokens are still told apart by their claims.
   */
  tokenTypes?: string[];
}

export interface IdentityVerifierOptions {
  issuers: TrustedIssuer[];
  /** Leeway for exp / nbf against clock skew between Portcullis and the IdP; default 30 s. */
  clockToleranceSeconds?: number;
  /** Timeout for discovery and JWKS requests; default 5 s. */
  fetchTimeoutMs?: number;
  /** How long discovery results are reused; default 1 h. */
  discoveryTtlSeconds?: number;
}

/** A verified access token: who the caller is, and until when the token vouches for it. */
export interface VerifiedToken {
  identity: Identity;
  /** The token's exp claim as an ISO 8601 time (every accepted token has one; absent only if it is beyond what a Date holds). */
  expiresAt?: string;
  /** The token's iat claim as an ISO 8601 time, when it has one: a token issued before a revocation stays refused after the restore. */
  issuedAt?: string;
}

export interface IdentityVerifier {
  /** The caller's identity, or an IdentityError saying why the token was refused. */
  verify(token: string): Promise<Identity>;
  /** As verify, with the token's expiry (what a proxy records on SessionOpened). */
  verifyToken(token: string): Promise<VerifiedToken>;
}

export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'];

/** Larger than any real access token; keeps junk from being parsed at all. */
const MAX_TOKEN_LENGTH = 16 * 1024;
const JWS_COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

export function createIdentityVerifier(options: IdentityVerifierOptions): IdentityVerifier {
  const issuers = new Map<string, TrustedIssuer>();
  for (const trusted of options.issuers) {
    if (!isSecureUrl(trusted.issuer)) {
      throw new PortcullisError('PCL_ERR_CONFIG', `trusted issuer ${trusted.issuer} must be an https URL (http only on loopback)`);
    }
    const audiences = [trusted.audience].flat();
    if (audiences.length === 0 || audiences.some((a) => typeof a !== 'string' || a === '')) {
      throw new PortcullisError('PCL_ERR_CONFIG', `trusted issuer ${trusted.issuer} needs an audience`);
    }
    issuers.set(trusted.issuer, trusted);
  }
  if (issuers.size === 0) throw new PortcullisError('PCL_ERR_CONFIG', 'the identity verifier needs at least one trusted issuer');

  const clockTolerance = options.clockToleranceSeconds ?? 30;
  const keys = createIssuerKeys({
    fetchTimeoutMs: options.fetchTimeoutMs ?? 5000,
    discoveryTtlMs: (options.discoveryTtlSeconds ?? 3600) * 1000,
  });
  const trustedList = [...issuers.keys()].map((i) => JSON.stringify(i)).join(', ');

  const verifier: IdentityVerifier = {
    async verify(token) {
      return (await verifier.verifyToken(token)).identity;
    },
    async verifyToken(token) {
      const { header, claims } = readUnverified(token);

      const iss = claims.iss;
      if (typeof iss !== 'string' || iss === '') {
        throw new IdentityError('malformed', 'The access token does not say who issued it (no iss claim). Use an access token from a trusted identity provider.');
      }
      const trusted = issuers.get(iss);
      if (!trusted) {
        throw new IdentityError(
          'unknown_issuer',
          `The access token was issued by ${quoteClaim(iss)}, which Portcullis does not trust. Trusted issuers: ${trustedList}.`,
        );
      }

      const algorithms = trusted.algorithms ?? ASYMMETRIC_ALGORITHMS;
      if (typeof header.alg !== 'string' || !algorithms.includes(header.alg)) {
        throw new IdentityError(
          'malformed',
          `The access token is signed with algorithm ${quoteClaim(header.alg ?? 'none')}, which Portcullis does not accept for ${iss} (accepted: ${algorithms.join(', ')}).`,
          { issuer: iss },
        );
      }

      const getKey = await keys.keysFor(iss, trusted.jwksUri);
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, getKey, {
          issuer: iss,
          audience: trusted.audience,
          algorithms,
          clockTolerance,
          requiredClaims: ['sub', 'exp'],
        }));
      } catch (err) {
        throw explain(err, trusted, claims, clockTolerance);
      }
      checkAccessToken(header, payload, trusted);
      // jwtVerify required exp and checked it is a number in the future (within the clock tolerance).
      const expires = new Date((payload.exp ?? Number.NaN) * 1000);
      const identity = identityFromClaims(payload, trusted);
      const issued = typeof payload.iat === 'number' ? new Date(payload.iat * 1000) : undefined;
      return {
        identity,
        ...(Number.isNaN(expires.getTime()) ? {} : { expiresAt: expires.toISOString() }),
        ...(issued && !Number.isNaN(issued.getTime()) ? { issuedAt: issued.toISOString() } : {}),
      };
    },
  };
  return verifier;
}

export const DEFAULT_TOKEN_TYPES = ['at+jwt'];

/** RFC 7515 §4.1.9: `typ` compares case-insensitively, and `application/` may be left out. */
const mediaType = (t: string): string => {
  const lower = t.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
};

/** Claims only ID tokens carry (OpenID Connect Core §2, §3.1.3.6, §3.3.2.11), and Keycloak's token kind. */
const ID_TOKEN_CLAIMS = ['nonce', 'at_hash', 'c_hash', 's_hash'];

function checkAccessToken(header: ProtectedHeaderParameters, payload: JWTPayload, trusted: TrustedIssuer): void {
  const accepted = (trusted.tokenTypes ?? DEFAULT_TOKEN_TYPES).map(mediaType);
  const typ = typeof header.typ === 'string' ? header.typ : undefined;
  const idClaim = ID_TOKEN_CLAIMS.find((c) => c in payload) ?? (typeof payload.typ === 'string' && payload.typ.toLowerCase() === 'id' ? 'typ' : undefined);
  const typeOk = accepted.includes('*') || (typ !== undefined && accepted.includes(mediaType(typ)));
  if (!typeOk || idClaim !== undefined) {
    const what = idClaim !== undefined ? `it carries the ID token claim "${idClaim}"` : `its type is ${quoteClaim(typ ?? 'not given')}, not ${accepted.map((t) => JSON.stringify(t)).join(' or ')}`;
    throw new IdentityError(
      'wrong_token_type',
      `The credential from ${trusted.issuer} is not an access token (${what}). Send the access token your identity provider issued for Portcullis, not an ID token.`,
      { issuer: trusted.issuer },
    );
  }
}

/** Header and claims before any check, only to route the token and explain refusals. */
function readUnverified(token: unknown): { header: ProtectedHeaderParameters; claims: JWTPayload } {
  const malformed = (what: string) =>
    new IdentityError('malformed', `The credential is not a usable access token: ${what}. Send the access token (a JWT) from your identity provider as a Bearer token.`);
  if (typeof token !== 'string' || token.trim() === '') throw malformed('it is empty');
  if (token.length > MAX_TOKEN_LENGTH) throw malformed(`it is longer than ${MAX_TOKEN_LENGTH} characters`);
  const parts = token.split('.').length;
  if (parts === 5) throw malformed('it is an encrypted JWT (JWE), which Portcullis cannot read; configure the IdP to issue signed access tokens');
  if (!JWS_COMPACT.test(token)) throw malformed('it is not a JWT (three base64url parts separated by dots)');
  try {
    return { header: decodeProtectedHeader(token), claims: decodeJwt(token) };
  } catch {
    throw malformed('its header or claims are not valid base64url-encoded JSON');
  }
}

/** jose's verdict in words, without the token and without jose's error (which carries the claims). */
function explain(err: unknown, trusted: TrustedIssuer, claims: JWTPayload, clockTolerance: number): IdentityError {
  const issuer = trusted.issuer;
  if (err instanceof IdentityError) return err;

  if (err instanceof joseErrors.JWTExpired) {
    const exp = typeof claims.exp === 'number' ? claims.exp : undefined;
    const when = exp === undefined ? '' : ` at ${new Date(exp * 1000).toISOString()} (${Math.max(0, Math.round(Date.now() / 1000 - exp))} s ago, allowing ${clockTolerance} s of clock skew)`;
    return new IdentityError('expired', `The access token expired${when}. Get a new token from ${issuer} and try again.`, { issuer });
  }

  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'nbf':
      case 'iat': {
        const start = err.claim === 'nbf' ? claims.nbf : claims.iat;
        const when = typeof start === 'number' ? ` until ${new Date(start * 1000).toISOString()}` : ' yet';
        return new IdentityError(
          'not_yet_valid',
          `The access token is not valid${when}. If it was just issued, the clocks of Portcullis and ${issuer} disagree by more than ${clockTolerance} s; check NTP on both.`,
          { issuer },
        );
      }
      case 'aud': {
        const got = claims.aud === undefined ? 'no audience' : `audience ${quoteClaim(claims.aud)}`;
        const want = [trusted.audience].flat().map((a) => JSON.stringify(a)).join(' or ');
        return new IdentityError(
          'wrong_audience',
          `The access token was issued for ${got}, not for Portcullis (expected ${want}). Ask ${issuer} for a token for Portcullis (e.g. resource/audience ${want}).`,
          { issuer },
        );
      }
      case 'iss':
        return new IdentityError('unknown_issuer', `The access token's issuer does not match ${JSON.stringify(issuer)}.`, { issuer });
      default:
        return new IdentityError(
          'invalid_claims',
          `The access token from ${issuer} has a missing or invalid "${err.claim}" claim (${err.reason}).`,
          { issuer },
        );
    }
  }

  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return new IdentityError(
      'bad_signature',
      `The access token's signature does not match the keys of ${issuer}: it was not issued by that provider or was altered after issue.`,
      { issuer },
    );
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) {
    return new IdentityError(
      'bad_signature',
      `The access token is signed with a key ${issuer} does not publish, so its signature cannot be trusted. If the provider just rotated its keys, try again in a minute.`,
      { issuer },
    );
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
    return new IdentityError('malformed', `The access token uses a signature algorithm or key type Portcullis does not accept for ${issuer}.`, { issuer });
  }
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid || err instanceof TypeError || isNetworkError(err)) {
    return new IdentityError(
      'issuer_unavailable',
      `Portcullis could not fetch the signing keys of ${issuer}${err instanceof joseErrors.JWKSTimeout ? ' in time' : ''}. Try again shortly.`,
      { issuer, cause: err instanceof joseErrors.JOSEError ? undefined : err },
    );
  }
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return new IdentityError('malformed', `The access token from ${issuer} is not a valid signed JWT.`, { issuer });
  }
  if (err instanceof PortcullisError) {
    return new IdentityError('issuer_unavailable', err.message, { issuer, cause: err });
  }
  return new IdentityError('malformed', `The access token from ${issuer} could not be verified.`, { issuer });
}

function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof joseErrors.JOSEError) return false;
  return err.name === 'AbortError' || err.name === 'TimeoutError' || ('code' in err && typeof err.code === 'string' && /^E[A-Z]+$/.test(err.code));
}
