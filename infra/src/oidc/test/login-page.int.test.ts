/**
 * The local provider's browser login for the web console, driven over HTTP
 * like a browser: authorization code with PKCE, the dev person's password,
 * no consent screen for the console, and what is refused: a wrong password,
 * a redirect URI that is not the console's, a token request without the PKCE
 * verifier, a login form posted without the interaction's cookie.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { CONSOLE_CLIENT, devPassword, startOidcProvider, type OidcProviderHandle } from '../index.ts';

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A cookie jar and manual redirects, as a browser would follow them. */
function browser(issuer: string) {
  let jar: string[] = [];
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';')[0]!;
      jar = jar.filter((x) => !x.startsWith(`${pair.split('=')[0]}=`)).concat(pair);
    }
    return res;
  };
  return {
    get: async (url: string) => keep(await fetch(new URL(url, issuer), { redirect: 'manual', headers: { cookie: jar.join('; ') } })),
    post: async (url: string, form: Record<string, string>, withCookies = true) =>
      keep(await fetch(new URL(url, issuer), { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...(withCookies ? { cookie: jar.join('; ') } : {}) }, body: new URLSearchParams(form) })),
  };
}

describe('browser login at the local OpenID provider', () => {
  let provider: OidcProviderHandle;
  let dataDir: string;
  const verifier = randomBytes(32).toString('base64url');
  const redirectUri = 'http://127.0.0.1:45678/auth/callback';

  const authorize = (overrides: Record<string, string> = {}) => {
    const url = new URL(`${provider.issuer}/auth`);
    const params = {
      client_id: CONSOLE_CLIENT, response_type: 'code', scope: 'openid profile email groups', redirect_uri: redirectUri, state: 'st',
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', resource: 'urn:portcullis', prompt: 'login', ...overrides,
    };
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    return url.toString();
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'portcullis-oidc-login-'));
    provider = await startOidcProvider({ port: await freeLoopbackPort(), dataDir });
  });
  after(async () => {
    await provider?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('alice logs in with her password and the console gets an access token for Portcullis with her groups, PKCE required', async () => {
    const b = browser(provider.issuer);
    const start = await b.get(authorize());
    assert.equal(start.status, 303);
    const interaction = start.headers.get('location')!;
    const form = await b.get(interaction);
    assert.equal(form.status, 200);
    assert.match(await form.text(), /Alice Anders/);

    const wrong = await b.post(`${interaction}/login`, { username: 'alice', password: 'not-her-password' });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /Unknown name or wrong password/);

    let next = (await b.post(`${interaction}/login`, { username: 'alice', password: await devPassword(provider.issuer, 'alice') })).headers.get('location')!;
    for (let hops = 0; hops < 6 && !next.startsWith(redirectUri); hops++) next = (await b.get(next)).headers.get('location')!;
    const back = new URL(next);
    assert.equal(back.origin + back.pathname, redirectUri);
    assert.equal(back.searchParams.get('state'), 'st');
    const code = back.searchParams.get('code')!;

    const token = (body: Record<string, string>) =>
      fetch(`${provider.issuer}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri, client_id: CONSOLE_CLIENT, resource: 'urn:portcullis', ...body }) });
    const noVerifier = await token({});
    assert.equal(noVerifier.status, 400, 'no PKCE verifier, no token');
    const granted = await token({ code_verifier: verifier });
    const json = (await granted.json()) as { access_token?: string };
    assert.ok(json.access_token, JSON.stringify(json));
    const claims = decodeJwt(json.access_token);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, 'portcullis');
    assert.deepEqual(claims.groups, ['dba', 'approvers']);
    assert.equal(claims.portcullis_kind, 'human');
  });

  test('a redirect URI other than the console\'s is refused before any login', async () => {
    const res = await browser(provider.issuer).get(authorize({ redirect_uri: 'http://evil.example/auth/callback' }));
    assert.equal(res.status, 400);
  });

  test('a login form posted without the interaction\'s cookie is refused', async () => {
    const b = browser(provider.issuer);
    const interaction = (await b.get(authorize())).headers.get('location')!;
    const res = await b.post(`${interaction}/login`, { username: 'alice', password: await devPassword(provider.issuer, 'alice') }, false);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('location'), null);
  });
});
