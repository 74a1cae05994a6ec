/**
 * The claims of a JWT access token, read without verifying it: the CLI only
 * uses them to show who is logged in and when the token expires. The gateway
 * verifies every token it is sent.
 */
export interface AccessTokenClaims {
  sub?: string;
  iss?: string;
  exp?: number;
  preferred_username?: string;
  groups?: string[];
  portcullis_kind?: string;
}

export function readClaims(token: string): AccessTokenClaims | undefined {
  const payload = token.split('.')[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as unknown;
    return typeof claims === 'object' && claims !== null ? (claims as AccessTokenClaims) : undefined;
  } catch {
    return undefined;
  }
}

/** When the token expires: its `exp`, else `fallbackSeconds` from now. */
export function expiryOf(token: string, fallbackSeconds?: number): Date | undefined {
  const exp = readClaims(token)?.exp;
  if (typeof exp === 'number') return new Date(exp * 1000);
  return fallbackSeconds === undefined ? undefined : new Date(Date.now() + fallbackSeconds * 1000);
}
