/**
 * The identity verifier against a real OpenID provider (infra/src/oidc) run on
 * a free loopback port from a temp data dir: real tokens, real JWKS, real
 * discovery. Nothing leaves the machine.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair, importJWK, type JWK } from 'jose';
import {
  DEV_LOGIN_CLIENT,
  issueHumanToken,
  issueServiceToken,
  issueShortLivedServiceToken,
  startOidcProvider,
  type OidcProviderHandle,
} from '../../../infra/src/oidc/index.ts';
import { createIdentityVerifier, IdentityError, type IdentityErrorReason, type IdentityVerifier } from '../src/identity/index.ts';

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Asserts a refusal with the given reason whose message and JSON never contain the token. */
async function assertRefused(verifier: IdentityVerifier, token: string, reason: IdentityErrorReason): Promise<IdentityError> {
  const err = await verifier.verify(token).then(
    (identity) => assert.fail(`expected a refusal (${reason}), got ${JSON.stringify(identity)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof IdentityError, `expected an IdentityError, got ${String(err)}`);
  assert.equal(err.reason, reason, err.message);
  const unavailable = reason === 'issuer_unavailable';
  assert.equal(err.code, unavailable ? 'PCL_ERR_IDP_UNAVAILABLE' : 'PCL_ERR_UNAUTHENTICATED');
  assert.equal(err.status, unavailable ? 503 : 401);
  const shown = `${err.message} ${JSON.stringify(err.toJSON())} ${String(err.stack)}`;
  for (const part of token.split('.').filter((p) => p.length >= 16)) {
    assert.ok(!shown.includes(part), `error for ${reason} echoes part of the token`);
  }
  return err;
}

describe('identity verifier against the local OpenID provider', () => {
  const dataDirs: string[] = [];
  let provider: OidcProviderHandle;
  let stranger: OidcProviderHandle;
  let verifier: IdentityVerifier;

  before(async () => {
    for (let i = 0; i < 2; i++) dataDirs.push(await mkdtemp(join(tmpdir(), 'portcullis-oidc-')));
    [provider, stranger] = await Promise.all([
      startOidcProvider({ port: await freeLoopbackPort(), dataDir: dataDirs[0]! }),
      startOidcProvider({ port: await freeLoopbackPort(), dataDir: dataDirs[1]! }),
    ]);
    verifier = createIdentityVerifier({
      issuers: [{ issuer: provider.issuer, audience: 'portcullis' }],
      clockToleranceSeconds: 5,
    });
  });

  after(async () => {
    await Promise.all([provider?.stop(), stranger?.stop()]);
    await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  test('a service token verifies to the service account with its groups', async () => {
    const identity = await verifier.verify(await issueServiceToken(provider.issuer, 'ci-deploy'));
    assert.deepEqual(identity, { subject: 'ci-deploy', issuer: provider.issuer, kind: 'service', groups: ['ci'], clientId: 'ci-deploy' });
  });

  test('verifyToken also says when the token expires: its exp claim', async () => {
    const token = await issueServiceToken(provider.issuer, 'ci-deploy');
    const verified = await verifier.verifyToken(token);
    assert.deepEqual(verified.identity, await verifier.verify(token));
    assert.equal(verified.expiresAt, new Date((decodeJwt(token).exp as number) * 1000).toISOString());
    assert.ok(Date.parse(verified.expiresAt!) > Date.now());
  });

  test('every dev service account maps to its groups', async () => {
    const expected = { 'llm-agent': ['agents'], 'reporting-job': ['analytics'], 'auditor-bot': ['auditors'] };
    for (const [clientId, groups] of Object.entries(expected)) {
      const identity = await verifier.verify(await issueServiceToken(provider.issuer, clientId));
      assert.equal(identity.kind, 'service');
      assert.equal(identity.subject, clientId);
      assert.deepEqual(identity.groups, groups);
    }
  });

  test('a human token verifies with name and groups', async () => {
    const alice = await verifier.verify(await issueHumanToken(provider.issuer, 'alice'));
    assert.deepEqual(alice, {
      subject: 'alice',
      issuer: provider.issuer,
      kind: 'human',
      groups: ['dba', 'approvers'],
      name: 'Alice Anders',
      clientId: DEV_LOGIN_CLIENT,
    });
    const carol = await verifier.verify(await issueHumanToken(provider.issuer, 'carol'));
    assert.deepEqual(carol.groups, ['auditors', 'approvers']);
  });

  test('the tokens are real signed JWTs from the provider', async () => {
    const token = await issueHumanToken(provider.issuer, 'bob');
    const header = decodeProtectedHeader(token);
    assert.equal(header.typ, 'at+jwt');
    assert.ok(header.alg === 'RS256' || header.alg === 'ES256');
    const claims = decodeJwt(token);
    assert.equal(claims.iss, provider.issuer);
    assert.equal(claims.aud, 'portcullis');
    assert.equal(claims['portcullis_kind'], 'human');
  });

  test('an expired token is refused as expired', async () => {
    const strict = createIdentityVerifier({ issuers: [{ issuer: provider.issuer, audience: 'portcullis' }], clockToleranceSeconds: 0 });
    const service = await issueShortLivedServiceToken(provider.issuer);
    const human = await issueHumanToken(provider.issuer, 'dave', { ttlSeconds: 1 });
    assert.equal((await strict.verify(service)).subject, 'expiry-probe');

    const exp = decodeJwt(service).exp!;
    await sleep(Math.max(0, exp * 1000 - Date.now()) + 1100);

    const err = await assertRefused(strict, service, 'expired');
    assert.match(err.message, /expired at .* Get a new token/);
    await assertRefused(strict, human, 'expired');
  });

  test('a token signed by another key with the same kid and issuer is refused as a bad signature', async () => {
    const genuine = await issueServiceToken(provider.issuer, 'ci-deploy');
    const header = decodeProtectedHeader(genuine);
    const { privateKey } = await generateKeyPair(header.alg!);
    const forged = await new SignJWT({ ...decodeJwt(genuine), groups: ['dba', 'approvers'] })
      .setProtectedHeader(header as { alg: string })
      .sign(privateKey);
    assert.equal(decodeProtectedHeader(forged).kid, header.kid);
    await assertRefused(verifier, forged, 'bad_signature');
  });

  test('a token whose payload was altered is refused as a bad signature', async () => {
    const genuine = await issueServiceToken(provider.issuer, 'llm-agent');
    const [h, , s] = genuine.split('.');
    const claims = { ...decodeJwt(genuine), groups: ['dba'] };
    const altered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    await assertRefused(verifier, altered, 'bad_signature');
  });

  test('a token for another audience is refused as wrong audience', async () => {
    const token = await issueServiceToken(provider.issuer, 'reporting-job', { resource: 'urn:example:billing' });
    assert.equal(decodeJwt(token).aud, 'urn:example:billing');
    const err = await assertRefused(verifier, token, 'wrong_audience');
    assert.match(err.message, /"urn:example:billing"/);
    assert.match(err.message, /"portcullis"/);
  });

  test('a real token from an issuer Portcullis does not trust is refused as unknown issuer', async () => {
    const token = await issueHumanToken(stranger.issuer, 'alice');
    const err = await assertRefused(verifier, token, 'unknown_issuer');
    assert.ok(err.message.includes(stranger.issuer));
    assert.ok(err.message.includes(provider.issuer), 'names the trusted issuers');
  });

  test('a token signed with the provider key but not valid until later is refused as not yet valid', async () => {
    // The provider's own signing key from its (temporary) data dir: a genuine signature with a future nbf.
    const { keys } = JSON.parse(await readFile(join(dataDirs[0]!, 'jwks.json'), 'utf8')) as { keys: JWK[] };
    const jwk = keys.find((k) => k.alg === 'ES256')!;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ groups: ['ci'], portcullis_kind: 'service', client_id: 'ci-deploy' })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ: 'at+jwt' })
      .setIssuer(provider.issuer)
      .setAudience('portcullis')
      .setSubject('ci-deploy')
      .setIssuedAt(now)
      .setNotBefore(now + 600)
      .setExpirationTime(now + 1200)
      .sign(await importJWK(jwk, 'ES256'));
    await assertRefused(verifier, token, 'not_yet_valid');

    const valid = await new SignJWT({ groups: ['ci'], portcullis_kind: 'service' })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ: 'at+jwt' })
      .setIssuer(provider.issuer)
      .setAudience('portcullis')
      .setSubject('ci-deploy')
      .setIssuedAt(now)
      .setExpirationTime(now + 600)
      .sign(await importJWK(jwk, 'ES256'));
    assert.equal((await verifier.verify(valid)).kind, 'service', 'the ES256 key is published too');
  });

  test('only access tokens: an ID token signed by the provider is refused, whatever its header says', async () => {
    // Every token the local provider issues is an RFC 9068 access token.
    for (const token of [await issueServiceToken(provider.issuer, 'ci-deploy'), await issueHumanToken(provider.issuer, 'alice')]) {
      assert.equal(decodeProtectedHeader(token).typ, 'at+jwt');
      assert.ok(await verifier.verify(token));
    }
    const { keys } = JSON.parse(await readFile(join(dataDirs[0]!, 'jwks.json'), 'utf8')) as { keys: JWK[] };
    const jwk = keys.find((k) => k.alg === 'ES256')!;
    const key = await importJWK(jwk, 'ES256');
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: Record<string, unknown>, typ: string | undefined) =>
      new SignJWT({ groups: ['dba'], portcullis_kind: 'human', ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, ...(typ === undefined ? {} : { typ }) })
        .setIssuer(provider.issuer).setAudience('portcullis').setSubject('alice').setIssuedAt(now).setExpirationTime(now + 300)
        .sign(key);

    // What an OpenID provider issues as an ID token for a client named "portcullis".
    const idToken = await sign({ nonce: 'n-0S6_WzA2Mj', at_hash: 'HK6E_P6Dh8Y93mRNtsDB1Q', auth_time: now }, 'JWT');
    const err = await assertRefused(verifier, idToken, 'wrong_token_type');
    assert.match(err.message, /not an access token/);
    await assertRefused(verifier, await sign({}, undefined), 'wrong_token_type');
    await assertRefused(verifier, await sign({}, 'JWT'), 'wrong_token_type');
    await assertRefused(verifier, await sign({ nonce: 'x' }, 'at+jwt'), 'wrong_token_type');
    await assertRefused(verifier, await sign({ typ: 'ID' }, 'at+jwt'), 'wrong_token_type');
    assert.equal((await verifier.verify(await sign({}, 'application/AT+JWT'))).subject, 'alice', 'typ compares as a media type');

    // An IdP whose access tokens say typ JWT: configure it; ID tokens are still told by their claims.
    const jwtTyped = createIdentityVerifier({ issuers: [{ issuer: provider.issuer, audience: 'portcullis', tokenTypes: ['JWT'] }] });
    assert.equal((await jwtTyped.verify(await sign({}, 'JWT'))).subject, 'alice');
    await assertRefused(jwtTyped, idToken, 'wrong_token_type');
    await assertRefused(jwtTyped, await sign({ c_hash: 'x' }, 'JWT'), 'wrong_token_type');
    await assertRefused(jwtTyped, await sign({}, 'at+jwt'), 'wrong_token_type');
    const anyType = createIdentityVerifier({ issuers: [{ issuer: provider.issuer, audience: 'portcullis', tokenTypes: ['*'] }] });
    assert.equal((await anyType.verify(await sign({}, undefined))).subject, 'alice', '"*": no typ at all');
    await assertRefused(anyType, idToken, 'wrong_token_type');
  });

  test('garbage is refused as malformed', async () => {
    const genuine = await issueServiceToken(provider.issuer, 'ci-deploy');
    const [h, p] = genuine.split('.');
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const samples = [
      '',
      '   ',
      'not-a-token',
      'Bearer ' + genuine,
      'a.b.c',
      `${h}.${p}`,
      `${h}.${p}.${'A'.repeat(20)}.x.y`,
      'x'.repeat(20_000),
      // alg none with a trusted issuer
      `${b64({ alg: 'none' })}.${p}.`,
      `${b64({ alg: 'none' })}.${p}.${'A'.repeat(43)}`,
      // HS256 "signed" with anything: never accepted
      `${b64({ alg: 'HS256', typ: 'JWT' })}.${p}.${'A'.repeat(43)}`,
      // claims that are not JSON
      `${h}.${Buffer.from('{{{{not json').toString('base64url')}.${'A'.repeat(43)}`,
    ];
    for (const sample of samples) await assertRefused(verifier, sample, 'malformed');
  });

  test('an unreachable trusted issuer is reported as unavailable and retriable', async () => {
    const port = await freeLoopbackPort();
    const offline = createIdentityVerifier({
      issuers: [{ issuer: `http://127.0.0.1:${port}`, audience: 'portcullis' }],
      fetchTimeoutMs: 1000,
    });
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(`http://127.0.0.1:${port}`)
      .setAudience('portcullis')
      .setSubject('someone')
      .setExpirationTime('5m')
      .sign((await generateKeyPair('ES256')).privateKey);
    const err = await assertRefused(offline, token, 'issuer_unavailable');
    assert.equal(err.retriable, true);
  });

  test('a verifier trusting two issuers accepts tokens from both', async () => {
    const both = createIdentityVerifier({
      issuers: [
        { issuer: provider.issuer, audience: 'portcullis' },
        { issuer: stranger.issuer, audience: ['portcullis', 'other'] },
      ],
    });
    assert.equal((await both.verify(await issueHumanToken(stranger.issuer, 'bob'))).issuer, stranger.issuer);
    assert.equal((await both.verify(await issueServiceToken(provider.issuer, 'auditor-bot'))).issuer, provider.issuer);
  });
});
