/** Caller identity: verifying OIDC access tokens and mapping their claims to an Identity. */
export {
  createIdentityVerifier,
  ASYMMETRIC_ALGORITHMS,
  type IdentityVerifier,
  type IdentityVerifierOptions,
  type TrustedIssuer,
  type VerifiedToken,
} from './verifier.ts';
export { trustedIssuerFromEnv } from './env.ts';
export { identityFromClaims, DEFAULT_GROUPS_CLAIM, DEFAULT_KIND_CLAIM, type ClaimMapping } from './claims.ts';
export { IdentityError, isIdentityError, identityErrorReasons, type IdentityErrorReason } from './errors.ts';
