/**
 * The local OpenID provider as a process: start-up, reuse, restart with the
 * same keys and secrets, the dev-login grant's limits, and that no secret
 * ends up in its log. Loopback only, temp data dirs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import {
  DEV_LOGIN_GRANT,
  OIDC_LOG_FILE,
  TokenRequestError,
  issueHumanToken,
  issueServiceToken,
  oidcProviderStatus,
  startOidcProvider,
  stopOidcProvider,
  type OidcProviderHandle,
} from '../index.ts';

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const readJson = async <T>(file: string) => JSON.parse(await readFile(file, 'utf8')) as T;

describe('local OpenID provider process', () => {
  const dataDirs: string[] = [];
  const newDataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portcullis-oidc-'));
    dataDirs.push(dir);
    return dir;
  };
  let dataDir: string;
  let port: number;
  let provider: OidcProviderHandle;

  before(async () => {
    dataDir = await newDataDir();
    port = await freeLoopbackPort();
    provider = await startOidcProvider({ port, dataDir });
  });

  after(async () => {
    await provider?.stop();
    await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  test('answers OpenID discovery on loopback with the grants Portcullis uses', async () => {
    assert.equal(provider.issuer, `http://127.0.0.1:${port}`);
    const res = await fetch(`${provider.issuer}/.well-known/openid-configuration`);
    const metadata = (await res.json()) as { issuer: string; grant_types_supported: string[]; jwks_uri: string };
    assert.equal(metadata.issuer, provider.issuer);
    assert.ok(metadata.grant_types_supported.includes('client_credentials'));
    assert.ok(metadata.grant_types_supported.includes(DEV_LOGIN_GRANT));

    const jwks = (await (await fetch(metadata.jwks_uri)).json()) as { keys: Record<string, unknown>[] };
    assert.deepEqual(jwks.keys.map((k) => k['alg']).sort(), ['ES256', 'RS256']);
    for (const key of jwks.keys) assert.equal('d' in key, false, 'only public keys are published');
  });

  test('records its pid and is reused by a second start', async () => {
    assert.equal(Number((await readFile(join(dataDir, 'oidc-provider.pid'), 'utf8')).trim()), provider.pid);
    const again = await startOidcProvider({ port, dataDir });
    assert.equal(again.pid, provider.pid);
    assert.deepEqual(await oidcProviderStatus({ dataDir }), { running: true, pid: provider.pid, issuer: provider.issuer });
    await assert.rejects(startOidcProvider({ port: port + 1, dataDir }), /already runs at/);
  });

  test('keeps keys and client secrets private to the owner', async () => {
    for (const file of ['jwks.json', 'clients.json', 'cookie-keys.json']) {
      assert.equal((await stat(join(dataDir, file))).mode & 0o077, 0, `${file} is readable by others`);
    }
  });

  test('refuses unknown people, bad lifetimes, wrong clients and wrong secrets', async () => {
    await assert.rejects(issueHumanToken(provider.issuer, 'mallory'), (e: unknown) => e instanceof TokenRequestError && /no dev person/.test(e.message));
    await assert.rejects(issueHumanToken(provider.issuer, 'alice', { ttlSeconds: 0 }), /expires_in/);
    await assert.rejects(issueHumanToken(provider.issuer, 'alice', { ttlSeconds: 7200 }), /expires_in/);
    await assert.rejects(issueServiceToken(provider.issuer, 'no-such-client'), /no secret for client/);

    const { clients } = await readJson<{ clients: { clientId: string; clientSecret: string }[] }>(join(dataDir, 'clients.json'));
    const ci = clients.find((c) => c.clientId === 'ci-deploy')!;
    const post = (user: string, pass: string, body: Record<string, string>) =>
      fetch(`${provider.issuer}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(body),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: string; access_token?: string } }));

    // a service account may not log people in
    const asService = await post('ci-deploy', ci.clientSecret, { grant_type: DEV_LOGIN_GRANT, username: 'alice' });
    assert.equal(asService.status, 400);
    assert.equal(asService.body.access_token, undefined);
    // a wrong secret gets nothing
    const wrongSecret = await post('ci-deploy', 'guessed', { grant_type: 'client_credentials' });
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, 'invalid_client');
  });

  test('restarts from the same data dir with the same keys and secrets', async () => {
    const token = await issueServiceToken(provider.issuer, 'ci-deploy');
    const secretsBefore = await readFile(join(dataDir, 'clients.json'), 'utf8');
    await provider.stop();
    assert.equal(existsSync(join(dataDir, 'oidc-provider.pid')), false);
    assert.deepEqual(await oidcProviderStatus({ dataDir }), { running: false });

    provider = await startOidcProvider({ port, dataDir });
    assert.equal(await readFile(join(dataDir, 'clients.json'), 'utf8'), secretsBefore);
    const jwks = (await (await fetch(`${provider.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    const [header] = token.split('.');
    const { kid } = JSON.parse(Buffer.from(header!, 'base64url').toString()) as { kid: string };
    assert.ok(jwks.keys.some((k) => k.kid === kid), 'a token from before the restart is still checkable');
    assert.equal(decodeJwt(await issueServiceToken(provider.issuer, 'ci-deploy')).sub, 'ci-deploy');
  });

  test('without dev login, human tokens cannot be had', async () => {
    const closed = await startOidcProvider({ port: await freeLoopbackPort(), dataDir: await newDataDir(), devLogin: false });
    try {
      await assert.rejects(issueHumanToken(closed.issuer, 'alice'), (e: unknown) => e instanceof TokenRequestError);
      assert.equal(decodeJwt(await issueServiceToken(closed.issuer, 'llm-agent')).sub, 'llm-agent');
    } finally {
      assert.equal(await stopOidcProvider({ dataDir: closed.dataDir }), true);
    }
  });

  test('a port already taken is reported, not mistaken for a running provider', async () => {
    await assert.rejects(startOidcProvider({ port, dataDir: await newDataDir() }), /already in use/);
  });

  test('its log holds no secrets and no tokens', async () => {
    const token = await issueHumanToken(provider.issuer, 'carol');
    await issueHumanToken(provider.issuer, 'nobody').catch(() => undefined);
    const log = await readFile(join(dataDir, OIDC_LOG_FILE), 'utf8');
    assert.match(log, /ready/);
    const { clients } = await readJson<{ clients: { clientSecret: string }[] }>(join(dataDir, 'clients.json'));
    for (const { clientSecret } of clients) assert.equal(log.includes(clientSecret), false);
    assert.equal(log.includes(token.split('.')[2]!), false);
  });
});
