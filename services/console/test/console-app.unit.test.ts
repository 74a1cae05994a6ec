/**
 * The console server with app.inject: login (state bound to the browser, one
 * use, PKCE verifier handed to the exchange), the session cookie's flags,
 * CSRF on every mutation, the API proxy (token added, paths kept inside the
 * upstream), the policy routes and their groups, the single-page app fallback.
 * The identity provider, verifier and upstreams are in-memory stand-ins.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { PortcullisError, type IdentityVerifier } from '@portcullis/kit';
import { policyStateFromDocument } from '@portcullis/policy-decision';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildConsoleApp, CSRF_HEADER, LOGIN_COOKIE, SESSION_COOKIE } from '../src/server/index.ts';

const policyYaml = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const loaded = policyStateFromDocument(policyYaml, 'automation-access.yaml');
if (!loaded.ok) throw new Error('example policy invalid');

const people: Record<string, string[]> = { alice: ['dba', 'approvers'], bob: ['developers'], carol: ['auditors', 'approvers'] };
/** A JWT-shaped token naming the person; the stand-in verifier reads it back. */
const tokenFor = (sub: string) =>
  [{ alg: 'none' }, { sub, exp: Math.floor(Date.now() / 1000) + 600 }].map((p) => Buffer.from(JSON.stringify(p)).toString('base64url')).join('.') + '.sig';
const verifier: IdentityVerifier = {
  async verify(token) {
    const sub = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub as string;
    if (!people[sub]) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'unknown');
    return { subject: sub, issuer: 'http://idp.test', kind: 'human', groups: people[sub]!, name: sub.toUpperCase() };
  },
  async verifyToken(token) {
    return { identity: await this.verify(token) };
  },
};

interface Upstream {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

async function consoleApp(options: { publicUrl?: string; staticDir?: string } = {}) {
  let n = 0;
  const exchanges: { code: string; verifier: string }[] = [];
  const upstream: Upstream[] = [];
  const app = await buildConsoleApp({
    oidc: {
      async authorizationRequest() {
        n += 1;
        return { url: `http://idp.test/auth?state=state-${n}`, state: `state-${n}`, codeVerifier: `verifier-${n}` };
      },
      async exchange(code, codeVerifier) {
        exchanges.push({ code, verifier: codeVerifier });
        return tokenFor(code.replace(/^code-/, ''));
      },
    },
    verifier,
    upstreams: { approvals: 'http://approvals.test:8091', query: 'http://query.test:8090/base' },
    publicUrl: options.publicUrl ?? 'http://127.0.0.1:8093',
    ...(options.staticDir ? { staticDir: options.staticDir } : {}),
    policyState: () => loaded.ok ? loaded.state : (undefined as never),
    fetch: (async (input: URL | string, init?: RequestInit) => {
      upstream.push({ url: String(input), method: init?.method ?? 'GET', headers: init?.headers as Record<string, string>, ...(init?.body ? { body: String(init.body) } : {}) });
      return new Response(JSON.stringify({ ok: true }), { status: 200, headers: { 'content-type': 'application/json', 'set-cookie': 'upstream=1' } });
    }) as typeof fetch,
  });
  return { app, exchanges, upstream };
}

const cookieOf = (res: LightMyRequestResponse, name: string) => res.cookies.find((c) => c.name === name);

/** Logs `who` in through /auth/login and /auth/callback; the session cookie and CSRF token. */
async function logIn(app: FastifyInstance, who: string, returnTo = '/') {
  const start = await app.inject({ url: `/auth/login?returnTo=${encodeURIComponent(returnTo)}` });
  const state = new URL(start.headers.location as string).searchParams.get('state')!;
  const back = await app.inject({ url: `/auth/callback?code=code-${who}&state=${state}`, cookies: { [LOGIN_COOKIE]: state } });
  const session = cookieOf(back, SESSION_COOKIE)?.value;
  const me = await app.inject({ url: '/auth/me', cookies: { [SESSION_COOKIE]: session ?? '' } });
  return { start, back, session: session!, csrf: me.json().csrfToken as string, me };
}

describe('console login', () => {
  it('given no session, /auth/me answers 204 and the API proxy 401', async () => {
    const { app, upstream } = await consoleApp();
    assert.equal((await app.inject({ url: '/auth/me' })).statusCode, 204);
    const res = await app.inject({ url: '/api/query/sessions' });
    assert.equal(res.statusCode, 401);
    assert.equal(res.json().code, 'PCL_ERR_UNAUTHENTICATED');
    assert.equal(upstream.length, 0);
  });

  it('when a person logs in, the state is bound to the browser, the PKCE verifier reaches the exchange, and the session cookie is HttpOnly and SameSite', async () => {
    const { app, exchanges } = await consoleApp();
    const { start, back, me } = await logIn(app, 'alice', '/sessions?identity=ci');
    assert.equal(start.statusCode, 303);
    const login = cookieOf(start, LOGIN_COOKIE)!;
    assert.equal(login.httpOnly, true);
    assert.equal(login.sameSite, 'Lax');
    assert.equal(back.statusCode, 303);
    assert.equal(back.headers.location, '/sessions?identity=ci');
    const session = cookieOf(back, SESSION_COOKIE)!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.secure, undefined, 'plain http on loopback: not Secure');
    assert.deepEqual(exchanges, [{ code: 'code-alice', verifier: 'verifier-1' }]);
    assert.equal(me.statusCode, 200);
    assert.deepEqual({ ...(me.json() as object), csrfToken: undefined, expiresAt: undefined }, {
      subject: 'alice', name: 'ALICE', kind: 'human', groups: ['dba', 'approvers'], canReadAudit: false, canReadPolicy: true, canAdmin: false, csrfToken: undefined, expiresAt: undefined,
    });
    assert.ok(!me.body.includes(tokenFor('alice').split('.')[0]!), 'the token never reaches the browser');
  });

  it('over https the cookies are Secure', async () => {
    const { app } = await consoleApp({ publicUrl: 'https://console.example.test' });
    const { start, back } = await logIn(app, 'carol');
    assert.equal(cookieOf(start, LOGIN_COOKIE)!.secure, true);
    assert.equal(cookieOf(back, SESSION_COOKIE)!.secure, true);
  });

  it('a callback without this browser\'s login cookie, or replayed, is refused', async () => {
    const { app, exchanges } = await consoleApp();
    const start = await app.inject({ url: '/auth/login' });
    const state = cookieOf(start, LOGIN_COOKIE)!.value;
    const foreign = await app.inject({ url: `/auth/callback?code=code-alice&state=${state}` });
    assert.equal(foreign.statusCode, 401);
    assert.match(String(foreign.headers['content-type']), /^text\/html/, 'a page for the person, with a way back');
    assert.match(foreign.body, /not started in this browser/);
    assert.match(foreign.body, /href="\/auth\/login"/);
    assert.equal(cookieOf(foreign, SESSION_COOKIE), undefined);
    const mismatched = await app.inject({ url: `/auth/callback?code=code-alice&state=${state}`, cookies: { [LOGIN_COOKIE]: 'other' } });
    assert.equal(mismatched.statusCode, 401);
    const ok = await app.inject({ url: `/auth/callback?code=code-alice&state=${state}`, cookies: { [LOGIN_COOKIE]: state } });
    assert.equal(ok.statusCode, 303);
    const replay = await app.inject({ url: `/auth/callback?code=code-alice&state=${state}`, cookies: { [LOGIN_COOKIE]: state } });
    assert.equal(replay.statusCode, 401);
    assert.equal(exchanges.length, 1);
  });

  it('returnTo never leaves the console', async () => {
    const { app } = await consoleApp();
    for (const evil of ['https://evil.test/', '//evil.test/x', '/\\evil.test', 'javascript:alert(1)']) {
      const { back } = await logIn(app, 'alice', evil);
      assert.equal(back.headers.location, '/', evil);
    }
  });

  it('logout needs the CSRF token, then ends the session', async () => {
    const { app } = await consoleApp();
    const { session, csrf } = await logIn(app, 'alice');
    assert.equal((await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [SESSION_COOKIE]: session } })).statusCode, 403);
    assert.equal((await app.inject({ method: 'POST', url: '/auth/logout', cookies: { [SESSION_COOKIE]: session }, headers: { [CSRF_HEADER]: csrf } })).statusCode, 204);
    assert.equal((await app.inject({ url: '/auth/me', cookies: { [SESSION_COOKIE]: session } })).statusCode, 204);
  });
});

describe('console API proxy', () => {
  it('forwards reads with the session\'s token and passes only safe headers back', async () => {
    const { app, upstream } = await consoleApp();
    const { session } = await logIn(app, 'carol');
    const res = await app.inject({ url: '/api/query/sessions?identity=ci-deploy&limit=5', cookies: { [SESSION_COOKIE]: session } });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { ok: true });
    assert.equal(res.headers['set-cookie'], undefined, 'upstream cookies stay upstream');
    assert.equal(upstream[0]!.url, 'http://query.test:8090/base/sessions?identity=ci-deploy&limit=5');
    const token = /^Bearer (\S+)$/.exec(upstream[0]!.headers.authorization!)![1]!;
    assert.equal((await verifier.verify(token)).subject, 'carol', 'the upstream gets carol\'s own token');
  });

  it('refuses a mutation without the CSRF token and forwards it with one', async () => {
    const { app, upstream } = await consoleApp();
    const { session, csrf } = await logIn(app, 'alice');
    const url = '/api/approvals/approvals/0b9c6f1e-8f8e-4a37-9d3a-2a1d1c1e0f00/grant';
    const forged = await app.inject({ method: 'POST', url, cookies: { [SESSION_COOKIE]: session }, payload: { comment: 'x' } });
    assert.equal(forged.statusCode, 403);
    const wrong = await app.inject({ method: 'POST', url, cookies: { [SESSION_COOKIE]: session }, headers: { [CSRF_HEADER]: 'x'.repeat(csrf.length) }, payload: { comment: 'x' } });
    assert.equal(wrong.statusCode, 403);
    assert.equal(upstream.length, 0);
    const ok = await app.inject({ method: 'POST', url, cookies: { [SESSION_COOKIE]: session }, headers: { [CSRF_HEADER]: csrf }, payload: { comment: 'lgtm' } });
    assert.equal(ok.statusCode, 200);
    assert.equal(upstream[0]!.url, 'http://approvals.test:8091/approvals/0b9c6f1e-8f8e-4a37-9d3a-2a1d1c1e0f00/grant');
    assert.equal(upstream[0]!.method, 'POST');
    assert.deepEqual(JSON.parse(upstream[0]!.body!), { comment: 'lgtm' });
  });

  it('keeps every path inside its upstream', async () => {
    const { app, upstream } = await consoleApp();
    const { session } = await logIn(app, 'carol');
    for (const path of ['/api/query/%2e%2e/admin', '/api/query/a/%2E%2E/%2E%2E/x', '/api/query/%2F%2Fevil.test/x', '/api/query/..%5cx', '/api/query/a%2f..%2f..%2fx']) {
      const res = await app.inject({ url: path, cookies: { [SESSION_COOKIE]: session } });
      if (res.statusCode === 200) assert.match(upstream.at(-1)!.url, /^http:\/\/query\.test:8090\/base\//, path);
      else assert.ok([400, 404].includes(res.statusCode), `${path}: ${res.statusCode}`);
    }
    assert.ok(upstream.every((u) => u.url.startsWith('http://query.test:8090/base/')), JSON.stringify(upstream.map((u) => u.url)));
  });
});

describe('console policy routes', () => {
  it('show the policy in force to approvers and auditors only', async () => {
    const { app } = await consoleApp();
    const bob = await logIn(app, 'bob');
    assert.equal((await app.inject({ url: '/api/console/policy', cookies: { [SESSION_COOKIE]: bob.session } })).statusCode, 403);
    const carol = await logIn(app, 'carol');
    const res = await app.inject({ url: '/api/console/policy', cookies: { [SESSION_COOKIE]: carol.session } });
    assert.equal(res.statusCode, 200);
    const view = res.json();
    assert.equal(view.version, 1);
    assert.equal(view.defaultEffect, 'block');
    const rule = view.rules.find((r: { id: string }) => r.id === 'automation-no-destructive');
    assert.equal(rule.effect, 'block');
    assert.deepEqual(rule.match.identity, { kind: ['service'] });
  });

  it('the playground blocks DROP TABLE for llm-agent and masks personal data, with the PDP\'s own analysis', async () => {
    const { app } = await consoleApp();
    const { session, csrf } = await logIn(app, 'carol');
    const decide = (command: Record<string, string>, headers: Record<string, string> = { [CSRF_HEADER]: csrf }) =>
      app.inject({ method: 'POST', url: '/api/console/decide', cookies: { [SESSION_COOKIE]: session }, headers, payload: {
        identity: { subject: 'llm-agent', kind: 'service', groups: ['agents'] }, resource: { name: 'orders-prod', tags: ['production'] }, command,
      } });
    assert.equal((await decide({ sql: 'DROP TABLE customers' }, {})).statusCode, 403, 'CSRF token required');
    const drop = await decide({ sql: 'DROP TABLE customers' });
    assert.equal(drop.statusCode, 200, drop.body);
    assert.equal(drop.json().effect, 'block');
    assert.deepEqual(drop.json().ruleIds, ['automation-no-destructive']);
    assert.deepEqual(drop.json().classes, ['ddl']);
    const read = await decide({ sql: 'SELECT email FROM customers' });
    assert.equal(read.json().effect, 'mask');
    assert.ok(read.json().mask, 'the mask spec is shown');
    const bad = await decide({ sql: '' });
    assert.equal(bad.statusCode, 400);
  });
});

describe('console app serving', () => {
  it('serves the app for client-side routes, JSON 404s for API paths, and strict security headers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'console-static-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>console</title>');
    const { app } = await consoleApp({ staticDir: dir });
    const page = await app.inject({ url: '/sessions/s-123' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<title>console<\/title>/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(page.headers['x-frame-options'], 'DENY');
    const api = await app.inject({ url: '/api/nope' });
    assert.equal(api.statusCode, 404);
    assert.equal(api.json().code, 'PCL_ERR_NOT_FOUND');
    const asset = await app.inject({ url: '/missing.js' });
    assert.equal(asset.statusCode, 404);
  });
});
