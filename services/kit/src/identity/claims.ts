/**
 * Verified JWT claims → Portcullis Identity.
 *
 *   subject  sub
 *   issuer   iss
 *   groups   the issuer's groups claim (default "groups"; a dotted path such
 *            as "realm_access.roles" reaches into nested objects)
 *   kind     the issuer's kind claim (default "portcullis_kind": human|service);
 *            without it, a token whose subject is its own client and that
 *            carries no personal claims came from a client credentials grant
 *            and is a service
 *   name     name, else email, else preferred_username
 *   clientId client_id, else azp, else cid (the OAuth client the token was issued to)
 */
import type { JWTPayload } from 'jose';
import type { Identity } from '@portcullis/schemas';
import { IdentityError, quoteClaim } from './errors.ts';

export const DEFAULT_GROUPS_CLAIM = 'groups';
export const DEFAULT_KIND_CLAIM = 'portcullis_kind';

export interface ClaimMapping {
  groupsClaim?: string;
  kindClaim?: string;
}

/** Claims only a token about a person carries. */
const PERSONAL_CLAIMS = ['email', 'name', 'given_name', 'family_name', 'preferred_username'] as const;
/** Where IdPs put the id of the client a token was issued to (RFC 9068 client_id, OIDC azp, Okta cid). */
const CLIENT_ID_CLAIMS = ['client_id', 'azp', 'cid'] as const;

export function identityFromClaims(payload: JWTPayload, mapping: ClaimMapping = {}): Identity {
  const issuer = payload.iss ?? '';
  const invalid = (what: string) =>
    new IdentityError('invalid_claims', `The access token from ${issuer} ${what}, so Portcullis cannot tell who the caller is.`, { issuer });

  const subject = payload.sub;
  if (typeof subject !== 'string' || subject === '') throw invalid('has no subject (sub claim)');

  const groupsClaim = mapping.groupsClaim ?? DEFAULT_GROUPS_CLAIM;
  const groups = readGroups(claimAt(payload, groupsClaim));
  if (groups === undefined) throw invalid(`has a "${groupsClaim}" claim that is not a list of group names`);

  const kindClaim = mapping.kindClaim ?? DEFAULT_KIND_CLAIM;
  const declaredKind = claimAt(payload, kindClaim);
  let kind: Identity['kind'];
  if (declaredKind === 'human' || declaredKind === 'service') kind = declaredKind;
  else if (declaredKind === undefined) kind = inferKind(payload, subject);
  else throw invalid(`says its caller kind (${kindClaim}) is ${quoteClaim(declaredKind)} instead of "human" or "service"`);

  const name = firstString(payload, ['name', 'email', 'preferred_username']);
  const clientId = firstString(payload, [...CLIENT_ID_CLAIMS]);
  return { subject, issuer, kind, groups, ...(name ? { name } : {}), ...(clientId ? { clientId } : {}) };
}

function inferKind(payload: JWTPayload, subject: string): Identity['kind'] {
  // Keycloak names the user behind a client's service account "service-account-<client>".
  const username = payload['preferred_username'];
  if (typeof username === 'string' && username.startsWith('service-account-')) return 'service';
  const hasPersonalClaims = PERSONAL_CLAIMS.some((c) => payload[c] !== undefined);
  const subjectIsClient = CLIENT_ID_CLAIMS.some((c) => payload[c] === subject);
  return subjectIsClient && !hasPersonalClaims ? 'service' : 'human';
}

function claimAt(payload: JWTPayload, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function readGroups(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  // Some IdPs send one group as a plain string.
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (Array.isArray(value) && value.every((g) => typeof g === 'string')) return [...new Set(value as string[])];
  return undefined;
}

function firstString(payload: JWTPayload, claims: string[]): string | undefined {
  for (const claim of claims) {
    const value = payload[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}
