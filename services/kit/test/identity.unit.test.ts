/** Claims → Identity for the token shapes real IdPs issue, and verifier configuration checks. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createIdentityVerifier, identityFromClaims, IdentityError } from '../src/identity/index.ts';

const iss = 'https://idp.example.com';

describe('identityFromClaims', () => {
  test('portcullis_kind decides the kind', () => {
    const human = identityFromClaims({ iss, sub: 'u1', portcullis_kind: 'human', groups: ['dba'] });
    assert.deepEqual(human, { subject: 'u1', issuer: iss, kind: 'human', groups: ['dba'] });
    const service = identityFromClaims({ iss, sub: 'u1', portcullis_kind: 'service', name: 'Nightly job' });
    assert.equal(service.kind, 'service');
    assert.equal(service.name, 'Nightly job');
  });

  test('a client credentials token without a kind claim is a service', () => {
    // RFC 9068 shape (oidc-provider, Auth0): sub is the client id.
    assert.equal(identityFromClaims({ iss, sub: 'ci-deploy', client_id: 'ci-deploy' }).kind, 'service');
    // Okta: cid
    assert.equal(identityFromClaims({ iss, sub: '0oa1', cid: '0oa1' }).kind, 'service');
    // Keycloak service account user
    assert.equal(
      identityFromClaims({ iss, sub: 'f1e2', azp: 'ci', preferred_username: 'service-account-ci' }).kind,
      'service',
    );
  });

  test('a token about a person without a kind claim is human', () => {
    assert.equal(identityFromClaims({ iss, sub: 'alice', client_id: 'portcullis-cli' }).kind, 'human');
    // subject equals the client but the token carries personal claims: not a client credentials token
    assert.equal(identityFromClaims({ iss, sub: 'x', azp: 'x', email: 'x@example.com' }).kind, 'human');
  });

  test('name comes from name, else email, else preferred_username', () => {
    assert.equal(identityFromClaims({ iss, sub: 's', name: 'Alice', email: 'a@example.com' }).name, 'Alice');
    assert.equal(identityFromClaims({ iss, sub: 's', email: 'a@example.com', preferred_username: 'alice' }).name, 'a@example.com');
    assert.equal(identityFromClaims({ iss, sub: 's', preferred_username: 'alice' }).name, 'alice');
    assert.equal('name' in identityFromClaims({ iss, sub: 's' }), false);
  });

  test('groups come from the configured claim, nested paths included', () => {
    const keycloak = { iss, sub: 's', realm_access: { roles: ['dba', 'offline_access'] } };
    assert.deepEqual(identityFromClaims(keycloak, { groupsClaim: 'realm_access.roles' }).groups, ['dba', 'offline_access']);
    // a claim whose name contains dots (URL-style custom claims) is read as is
    const custom = { iss, sub: 's', 'https://example.com/groups': ['ops'] };
    assert.deepEqual(identityFromClaims(custom, { groupsClaim: 'https://example.com/groups' }).groups, ['ops']);
    assert.deepEqual(identityFromClaims({ iss, sub: 's', groups: 'solo' }).groups, ['solo']);
    assert.deepEqual(identityFromClaims({ iss, sub: 's' }).groups, []);
    assert.deepEqual(identityFromClaims({ iss, sub: 's', groups: ['a', 'a', 'b'] }).groups, ['a', 'b']);
  });

  test('a custom kind claim is honoured', () => {
    assert.equal(identityFromClaims({ iss, sub: 's', 'x-kind': 'service' }, { kindClaim: 'x-kind' }).kind, 'service');
  });

  test('unusable claims are refused as invalid claims', () => {
    const refused = (claims: Record<string, unknown>) =>
      assert.throws(() => identityFromClaims({ iss, ...claims }), (e: unknown) => e instanceof IdentityError && e.reason === 'invalid_claims');
    refused({ sub: '' });
    refused({});
    refused({ sub: 's', groups: [1, 2] });
    refused({ sub: 's', groups: { admin: true } });
    refused({ sub: 's', portcullis_kind: 'robot' });
  });
});

describe('createIdentityVerifier configuration', () => {
  test('refuses plain http issuers off loopback, missing audiences and empty issuer lists', () => {
    assert.throws(() => createIdentityVerifier({ issuers: [{ issuer: 'http://idp.example.com', audience: 'portcullis' }] }), /https/);
    assert.throws(() => createIdentityVerifier({ issuers: [{ issuer: 'https://idp.example.com', audience: [] }] }), /audience/);
    assert.throws(() => createIdentityVerifier({ issuers: [] }), /at least one/);
    assert.doesNotThrow(() => createIdentityVerifier({ issuers: [{ issuer: 'http://127.0.0.1:9400', audience: 'portcullis' }] }));
  });

  test('refuses garbage before any network request', async () => {
    const verifier = createIdentityVerifier({ issuers: [{ issuer: 'https://idp.invalid', audience: 'portcullis' }] });
    for (const sample of ['', 'abc', 'a.b', '....']) {
      await assert.rejects(verifier.verify(sample), (e: unknown) => e instanceof IdentityError && e.reason === 'malformed');
    }
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const foreign = `${b64({ alg: 'RS256' })}.${b64({ iss: 'https://evil.example', sub: 'x' })}.${'A'.repeat(43)}`;
    await assert.rejects(verifier.verify(foreign), (e: unknown) => e instanceof IdentityError && e.reason === 'unknown_issuer');
  });
});
