/**
 * Why a caller's token was refused, in words the caller understands. Every
 * message names the problem and what to do; none ever contains the token.
 */
import { PortcullisError } from '../errors.ts';

export const identityErrorReasons = [
  'malformed',
  'unknown_issuer',
  'bad_signature',
  'expired',
  'not_yet_valid',
  'wrong_audience',
  /** A valid JWT that is not an access token (an ID token, or a `typ` the issuer is not configured for). */
  'wrong_token_type',
  'invalid_claims',
  'issuer_unavailable',
  /** A valid token of an identity, group or client an admin revoked (or issued before a revocation that was lifted). */
  'revoked',
] as const;
export type IdentityErrorReason = (typeof identityErrorReasons)[number];

export class IdentityError extends PortcullisError {
  readonly reason: IdentityErrorReason;

  constructor(reason: IdentityErrorReason, message: string, options: { issuer?: string; cause?: unknown } = {}) {
    super(reason === 'issuer_unavailable' ? 'PCL_ERR_IDP_UNAVAILABLE' : reason === 'revoked' ? 'PCL_ERR_REVOKED' : 'PCL_ERR_UNAUTHENTICATED', message, {
      cause: options.cause,
      // An unreachable issuer is worth retrying; a bad token never is.
      retriable: reason === 'issuer_unavailable',
      details: { reason, ...(options.issuer ? { issuer: options.issuer } : {}) },
    });
    this.name = 'IdentityError';
    this.reason = reason;
  }
}

export const isIdentityError = (err: unknown): err is IdentityError => err instanceof IdentityError;

/**
 * Claim values come from an unverified token when we report them, so keep
 * them short and printable.
 */
export function quoteClaim(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return JSON.stringify(printable.length > 120 ? `${printable.slice(0, 117)}...` : printable);
}
