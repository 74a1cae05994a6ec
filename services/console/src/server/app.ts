/**
 * The web console's server: the built single-page app, OIDC login, the API
 * proxy to the approvals service and the query API, and the console's own
 * policy routes (the version in force and a playground that runs `decide`).
 *
 *   GET  /auth/login?returnTo=/path   → the identity provider (code + PKCE)
 *   GET  /auth/callback               ← the provider; sets the session cookie
 *   GET  /auth/me                     who is logged in, and the CSRF token
 *   POST /auth/logout                 ends the session
 *   *    /api/approvals/*             → approvals service (Bearer from the session)
 *   *    /api/query/*                 → query API (audit, replay, identities)
 *   GET  /api/console/policy          the policy in force
 *   POST /api/console/decide          the playground
 *   GET  /api/console/docs/json       OpenAPI of the console's own routes
 *
 * Every POST needs the session's CSRF token in x-csrf-token; the cookie is
 * HttpOnly, SameSite=Lax, and Secure when the console is served over https.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { decodeJwt } from 'jose';
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { describeError, isPortcullisError, PortcullisError, type IdentityVerifier, type Logger } from '@portcullis/kit';
import { evaluate, playgroundCommand, type PolicyState } from '@portcullis/policy-decision';
import type { OidcClient } from './oidc-client.ts';
import { createSessionStore, type ConsoleSession, type SessionStore } from './sessions.ts';
import { safeReturnTo } from './return-to.ts';
import { forward, upstreamUrl } from './proxy.ts';
import { DecideRequest, DecisionView, ErrorBody, LoginQuery, Me, PolicyView } from './schemas.ts';
import { policyView } from './policy-view.ts';

export const SESSION_COOKIE = 'pcl_console';
export const LOGIN_COOKIE = 'pcl_console_login';
export const CSRF_HEADER = 'x-csrf-token';

export interface ConsoleDeps {
  oidc: Pick<OidcClient, 'authorizationRequest' | 'exchange'>;
  /** Verifies the access token got at login, exactly as the APIs behind the proxy will. */
  verifier: IdentityVerifier;
  upstreams: { approvals: string; query: string };
  /** The console's address as browsers reach it; https makes the cookies Secure. */
  publicUrl: string;
  /** The built single-page app (web/dist); omitted in API-only tests. */
  staticDir?: string;
  policyState: () => PolicyState;
  /** Members of the auditor group see sessions, replay and identities; default `auditors`. */
  auditorGroup?: string;
  /** Groups that may read the policy and use the playground; default auditors and approvers. */
  policyGroups?: string[];
  /** Members see the Access page (revoke, restore, live sessions, kill); the query API checks the same group. Default `admins`. */
  adminGroup?: string;
  sessions?: SessionStore;
  logger?: Logger;
  fetch?: typeof fetch;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody };

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function loginFailed(this: unknown, err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = isPortcullisError(err) ? err : undefined;
  if (!known) request.log.error({ err: describeError(err) }, 'login failed');
  const message = known ? known.message : 'the login failed; see the console log';
  return reply
    .status(known?.status ?? 500)
    .type('text/html; charset=utf-8')
    .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Login failed — Portcullis console</title></head><body><main><h1>Login failed</h1><p>${escapeHtml(message)}</p><p><a href="/auth/login">Log in again</a></p></main></body></html>`);
}

export async function buildConsoleApp(deps: ConsoleDeps): Promise<FastifyInstance> {
  const sessions = deps.sessions ?? createSessionStore();
  const auditorGroup = deps.auditorGroup ?? 'auditors';
  const policyGroups = deps.policyGroups ?? [auditorGroup, 'approvers'];
  const adminGroup = deps.adminGroup ?? 'admins';
  const secure = deps.publicUrl.startsWith('https:');
  const fetchImpl = deps.fetch ?? fetch;

  // forceCloseConnections: proxied event streams and exports must not hold up a stop.
  const app = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger | undefined, disableRequestLogging: true, bodyLimit: 256 * 1024, forceCloseConnections: true }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Portcullis console', version: '1', description: 'The web console\'s own routes: who is logged in, the policy in force, the policy playground.' },
    },
    transform: jsonSchemaTransform,
    // Registers the schemas named with .meta({ id }) as components, so their $refs resolve.
    transformObject: jsonSchemaTransformObject,
  });

  app.addHook('onSend', async (_req, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    // asciinema-player runs its terminal in WebAssembly and sets inline styles.
    reply.header('content-security-policy', "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'");
  });

  app.setErrorHandler((err, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.status(400).send({ code: 'PCL_ERR_VALIDATION', message: `invalid request: ${err.validation.map((v) => `${v.instancePath || '(root)'} ${v.message}`).join('; ')}` });
    }
    if (isPortcullisError(err)) return reply.status(err.status).send({ code: err.code, message: err.message });
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) return reply.status(status).send({ code: 'PCL_ERR_VALIDATION', message: describeError(err) });
    request.log.error({ err: describeError(err), url: request.routeOptions.url }, 'console request failed');
    return reply.status(500).send({ code: 'PCL_ERR_INTERNAL', message: 'internal error; see the console log' });
  });

  const cookieOptions = { httpOnly: true, sameSite: 'lax' as const, secure, path: '/' };

  function session(request: FastifyRequest): ConsoleSession {
    const s = sessions.get(request.cookies[SESSION_COOKIE]);
    if (!s) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'not logged in, or the login has expired: log in again');
    return s;
  }

  /** Mutations carry the session's CSRF token: a form or fetch from another site cannot read it. */
  function checkCsrf(request: FastifyRequest, s: ConsoleSession): void {
    const given = request.headers[CSRF_HEADER];
    const ok = typeof given === 'string' && given.length === s.csrfToken.length && timingSafeEqual(Buffer.from(given), Buffer.from(s.csrfToken));
    if (!ok) throw new PortcullisError('PCL_ERR_FORBIDDEN', `missing or wrong ${CSRF_HEADER} header`, { details: { reason: 'csrf' } });
  }

  // ------------------------------------------------------------------ login
  // A browser lands on these two: a failure is a page with a way back, not JSON.
  const browserFacing = { errorHandler: loginFailed };
  app.get('/auth/login', { schema: { hide: true, querystring: LoginQuery }, ...browserFacing }, async (request, reply) => {
    const auth = await deps.oidc.authorizationRequest();
    sessions.startLogin(auth.state, auth.codeVerifier, safeReturnTo(request.query.returnTo));
    // Binds the login to this browser: a callback carrying someone else's state is refused.
    reply.setCookie(LOGIN_COOKIE, auth.state, { ...cookieOptions, path: '/auth', maxAge: 600 });
    return reply.redirect(auth.url, 303);
  });

  app.get('/auth/callback', { schema: { hide: true }, ...browserFacing }, async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const expected = request.cookies[LOGIN_COOKIE];
    reply.clearCookie(LOGIN_COOKIE, { ...cookieOptions, path: '/auth' });
    if (q.error) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', `the identity provider refused the login: ${String(q.error).slice(0, 100)}`);
    if (!q.state || !q.code || !expected || q.state !== expected) {
      throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'this login was not started in this browser (state mismatch): log in again');
    }
    const login = sessions.finishLogin(q.state);
    if (!login) throw new PortcullisError('PCL_ERR_UNAUTHENTICATED', 'this login has expired or was already used: log in again');
    const accessToken = await deps.oidc.exchange(q.code, login.codeVerifier);
    const identity = await deps.verifier.verify(accessToken);
    const exp = decodeJwt(accessToken).exp;
    const s = sessions.create(identity, accessToken, typeof exp === 'number' ? exp * 1000 : Date.now() + 15 * 60_000);
    reply.setCookie(SESSION_COOKIE, s.id, { ...cookieOptions, expires: new Date(s.expiresAt) });
    return reply.redirect(login.returnTo, 303);
  });

  // No session is an ordinary state of the app, not an error: 204, so the browser logs nothing.
  app.get('/auth/me', { schema: { summary: 'Who is logged in (204: nobody)', response: { 200: Me, 204: z.null().describe('not logged in'), ...errors } } }, async (request, reply) => {
    const s = sessions.get(request.cookies[SESSION_COOKIE]);
    if (!s) return reply.status(204).send(null);
    const { subject, name, kind, groups } = s.identity;
    return {
      subject, kind, groups, ...(name ? { name } : {}),
      expiresAt: new Date(s.expiresAt).toISOString(),
      csrfToken: s.csrfToken,
      canReadAudit: groups.includes(auditorGroup),
      canReadPolicy: groups.some((g) => policyGroups.includes(g)),
      canAdmin: groups.includes(adminGroup),
    };
  });

  app.post('/auth/logout', { schema: { summary: 'End the session', response: { 204: z.null().describe('logged out'), ...errors } } }, async (request, reply) => {
    const s = sessions.get(request.cookies[SESSION_COOKIE]);
    if (s) {
      checkCsrf(request, s);
      sessions.end(s.id);
    }
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return reply.status(204).send(null);
  });

  // ------------------------------------------------------------------ proxy
  for (const [prefix, base] of [['approvals', deps.upstreams.approvals], ['query', deps.upstreams.query]] as const) {
    app.route({
      method: ['GET', 'POST'],
      url: `/api/${prefix}/*`,
      schema: { hide: true },
      handler: async (request, reply: FastifyReply) => {
        const s = session(request);
        if (request.method !== 'GET') checkCsrf(request, s);
        const rest = (request.params as { '*': string })['*'];
        const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
        return forward(request, reply, upstreamUrl(base, rest, query), s.accessToken, fetchImpl);
      },
    });
  }

  // ------------------------------------------------------------------ policy
  function policyReader(request: FastifyRequest): ConsoleSession {
    const s = session(request);
    if (!s.identity.groups.some((g) => policyGroups.includes(g))) {
      throw new PortcullisError('PCL_ERR_FORBIDDEN', `reading the policy needs membership of ${policyGroups.map((g) => `"${g}"`).join(' or ')}`);
    }
    return s;
  }

  app.get('/api/console/policy', { schema: { summary: 'The policy in force', response: { 200: PolicyView, ...errors } } }, async (request) => {
    policyReader(request);
    return policyView(deps.policyState());
  });

  app.post('/api/console/decide', {
    schema: { summary: 'Decide a typed command as a chosen identity and resource, with the PDP\'s code and the policy in force', body: DecideRequest, response: { 200: DecisionView, ...errors } },
  }, async (request) => {
    const s = policyReader(request);
    checkCsrf(request, s);
    const state = deps.policyState();
    if (!state.policy) throw new PortcullisError('PCL_ERR_CONFLICT', 'no policy is published yet');
    const { identity, resource, protocol, command } = request.body;
    const kind = protocol ?? ('sql' in command ? 'postgres' : 'shell' in command ? 'ssh' : 'http');
    // Nothing runs and nothing is published: the identity is only what the rules are matched against.
    const cmd = playgroundCommand({ ...identity, issuer: identity.issuer ?? s.identity.issuer }, { name: resource.name, kind, tags: resource.tags }, command, protocol);
    const { decision } = await evaluate(cmd, state);
    return {
      effect: decision.effect, ruleIds: decision.ruleIds, reasons: decision.reasons, classes: decision.classes, policyVersion: decision.policyVersion,
      ...(decision.mask ? { mask: decision.mask as unknown as Record<string, unknown> } : {}),
      ...(decision.approval ? { approval: decision.approval as unknown as Record<string, unknown> } : {}),
    };
  });

  app.get('/api/console/docs/json', { schema: { hide: true } }, async () => app.swagger());

  // ------------------------------------------------------------------ the app
  if (deps.staticDir && existsSync(join(deps.staticDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: deps.staticDir, wildcard: false, index: 'index.html', cacheControl: false });
    // Client-side routes (/sessions/…) get the app; API and auth paths get a JSON 404.
    app.setNotFoundHandler((request, reply) => {
      const path = request.url.split('?')[0]!;
      if (request.method === 'GET' && !path.startsWith('/api/') && !path.startsWith('/auth/') && !path.includes('.')) {
        return reply.header('cache-control', 'no-cache').sendFile('index.html');
      }
      return reply.status(404).send({ code: 'PCL_ERR_NOT_FOUND', message: `no route ${request.method} ${path}` });
    });
  } else {
    app.setNotFoundHandler((request, reply) => reply.status(404).send({ code: 'PCL_ERR_NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }));
  }

  await app.ready();
  return app as unknown as FastifyInstance;
}
