import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Socket } from 'node:net';
import { PassThrough, type Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { request as undiciRequest, type Agent } from 'undici';
import { newId, type HttpCommand, type Identity, type VerdictIssued } from '@portcullis/schemas';
import { describeError, timedVerifier, type AccessGuard, type Arrival, type CommandRefusal, type Logger } from '@portcullis/kit';
import type { HttpProxyConfig, ProxiedResource } from './config.ts';
import type { CommandGate, IdentityVerifier, SessionEventSink } from './ports.ts';
import { errorBody, HttpProxyError, kubernetesStatus } from './errors.ts';
import { routeRequest, upstreamUrl, type Route } from './routing.ts';
import { buildHttpCommand } from './command.ts';
import { credentialHeaderNames, credentialHeaders, isForwardedIdentityHeader } from './credentials.ts';
import { ExcerptCapture, type CommandOutcome } from './recording.ts';
import { ConnectionSessions, type ConnectionSession, type InFlight } from './connection-sessions.ts';
import { planFromMask, planIsEmpty, type JsonMaskPlan } from './json-masking.ts';
import { LineMasker, maskJsonText, maskModeFor } from './response-masking.ts';
import { gatewayMetrics, maskText } from '@portcullis/kit';
import { encodeNormalizedPath } from '@portcullis/policy-decision';
import { createAgent, isHopByHop } from './upstream.ts';
import { PendingApprovals } from './approvals.ts';
import { handleUpgrade } from './upgrade.ts';
import { LiveRequests } from './live-requests.ts';

export interface HttpProxyDeps {
  config: HttpProxyConfig;
  gate: CommandGate;
  sink: SessionEventSink;
  verifier: IdentityVerifier;
  logger: Logger;
  /** Where credential env references are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Serve HTTPS with this certificate (PEM). kubectl sends bearer tokens only over TLS. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Revocations, token lifetime, presence and drain (kit's access guard); the sink and verifier must be the guard's. */
  guard?: AccessGuard;
}

export const APPROVAL_HEADER = 'portcullis-approval';

/** Shared by request and upgrade handling. */
export interface ProxyContext extends HttpProxyDeps {
  resources: Map<string, ProxiedResource>;
  agents: Map<string, Agent>;
  pending: PendingApprovals;
  live: LiveRequests;
  sessions: ConnectionSessions;
}

/**
 * The HTTP / Kubernetes API proxy (docs/protocols/http.md): authenticate →
 * record → judge → forward (or refuse / hold) → mask → record. A fastify
 * instance; `listen` and `close` as usual.
 */
export function createHttpProxy(deps: HttpProxyDeps): FastifyInstance {
  const { config, logger } = deps;
  const settings = config.settings;
  const live = new LiveRequests();
  const ctx: ProxyContext = {
    ...deps,
    resources: new Map(config.resources.map((r) => [r.name, r])),
    agents: new Map(config.resources.map((r) => [r.name, createAgent(r)])),
    pending: new PendingApprovals(),
    live,
    sessions: new ConnectionSessions({ sink: deps.sink, gate: deps.gate, logger: deps.logger, live }),
  };
  deps.guard?.attach({
    terminate: (sessionId, reason) => ctx.live.terminate(sessionId, reason),
    // A request in flight is a running command; a drain lets it finish within the grace.
    busy: (sessionId) => ctx.live.busy(sessionId),
  });

  const app = Fastify({
    logger: false,
    bodyLimit: settings.maxRequestBodyBytes,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 8192 },
    // Node's parser (llhttp, strict mode) refuses CL+TE conflicts, bad chunking, CR/LF/NUL in header values and oversized heads.
    serverFactory: (handler: Parameters<typeof createServer>[1]) => {
      const options = { maxHeaderSize: settings.maxHeaderBytes, insecureHTTPParser: false, requireHostHeader: true, joinDuplicateHeaders: false };
      const server = deps.tls ? createTlsServer({ ...options, cert: deps.tls.cert, key: deps.tls.key }, handler) : createServer(options, handler);
      server.on(deps.tls ? 'secureConnection' : 'connection', () => gatewayMetrics().connections.inc({ protocol: 'http' }));
      return server;
    },
    clientErrorHandler: (err: Error & { code?: string }, socket: Socket) => {
      logger.info({ code: err.code }, 'malformed request refused');
      if (!socket.writable) return socket.destroy();
      const body = JSON.stringify({ error: { code: 'PCL_ERR_BAD_REQUEST', message: `malformed HTTP request refused (${err.code ?? 'parse error'}); nothing was forwarded` } });
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const route = routeRequest(request.raw.url ?? '/', request.headers.host, ctx.resources, settings.baseDomain);
    const status = err.statusCode ?? 500;
    const e =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? new HttpProxyError('PCL_ERR_BODY_TOO_LARGE', `the request body exceeds ${settings.maxRequestBodyBytes} bytes; nothing was forwarded`)
        : status < 500
          ? new HttpProxyError('PCL_ERR_BAD_REQUEST', `the request was refused: ${err.message}; nothing was forwarded`)
          : new HttpProxyError('PCL_ERR_INTERNAL', 'internal error; nothing was forwarded');
    if (status >= 500) logger.error({ err: describeError(err) }, 'request failed');
    void sendError(reply, e, route.ok ? route.route.resource : undefined);
  });

  app.all('/*', (request, reply) => handleRequest(ctx, request, reply));
  app.all('/', (request, reply) => handleRequest(ctx, request, reply));

  app.server.on('upgrade', (req, socket: Socket, head: Buffer) => void handleUpgrade(ctx, req, socket, head));
  app.addHook('onClose', async () => {
    await Promise.allSettled([...ctx.agents.values()].map((a) => a.close()));
  });
  return app;
}

/** The bearer token of an Authorization header, or PCL_ERR_UNAUTHENTICATED. */
export function bearerToken(authorization: string | string[] | undefined): string {
  const value = Array.isArray(authorization) ? undefined : authorization;
  const m = value ? /^Bearer[ ]+([^\s]+)\s*$/i.exec(value) : null;
  if (!m) throw new HttpProxyError('PCL_ERR_UNAUTHENTICATED', 'send your Portcullis access token as "Authorization: Bearer <token>"');
  return m[1]!;
}

export async function authenticate(verifier: IdentityVerifier, authorization: string | string[] | undefined): Promise<{ identity: Identity; expiresAt?: string }> {
  return verifyBearer(verifier, bearerToken(authorization));
}

async function verifyBearer(verifier: IdentityVerifier, token: string): Promise<{ identity: Identity; expiresAt?: string }> {
  try {
    return await verifier.verifyToken(token);
  } catch (err) {
    const reason = (err as { reason?: string }).reason;
    if (reason === 'issuer_unavailable') throw new HttpProxyError('PCL_ERR_IDP_UNAVAILABLE', describeError(err));
    if (reason === 'revoked') throw new HttpProxyError('PCL_ERR_REVOKED', describeError(err));
    if ((err as { code?: string }).code === 'PCL_ERR_SHUTTING_DOWN') throw new HttpProxyError('PCL_ERR_SHUTTING_DOWN', `${describeError(err)}; try again shortly`);
    throw new HttpProxyError('PCL_ERR_UNAUTHENTICATED', describeError(err));
  }
}

/**
 * The caller's session for this request: the connection's session on the
 * resource when the request carries the token it was opened with (no second
 * verification: revocation and expiry end that session from outside), else
 * a new session for the verified token.
 */
async function sessionFor(ctx: ProxyContext, request: FastifyRequest, resource: ProxiedResource): Promise<ConnectionSession> {
  const token = bearerToken(request.headers.authorization);
  const socket = request.raw.socket;
  const current = ctx.sessions.current(socket, resource.name, token);
  if (current) return current;
  const arrival: Arrival = { acceptedAt: Date.now() };
  const verified = await verifyBearer(timedVerifier(ctx.verifier, arrival), token);
  return ctx.sessions.open(socket, resourceRef(resource), { token, ...verified }, { clientAddress: request.ip, userAgent: request.headers['user-agent'], arrival });
}

export function resourceRef(resource: ProxiedResource): { name: string; kind: 'http' | 'kubernetes'; tags: string[] } {
  return { name: resource.name, kind: resource.protocol, tags: resource.tags };
}

export function errorFor(err: unknown): HttpProxyError {
  if (err instanceof HttpProxyError) return err;
  const code = (err as { code?: string }).code;
  if (code === 'PCL_ERR_VERDICT_TIMEOUT') return new HttpProxyError('PCL_ERR_VERDICT_TIMEOUT', 'no verdict in time; the request was not forwarded');
  if (code === 'PCL_ERR_BUS_UNAVAILABLE' || code === 'PCL_ERR_PUBLISH_FAILED') return new HttpProxyError('PCL_ERR_BUS_UNAVAILABLE', 'the request could not be recorded; it was not forwarded');
  if (code === 'PCL_ERR_POLICY_STALE') return new HttpProxyError('PCL_ERR_BUS_UNAVAILABLE', `${describeError(err)}; the request was not forwarded`);
  return new HttpProxyError('PCL_ERR_INTERNAL', 'internal error; the request was not forwarded');
}

function k8sWhat(command: HttpCommand | undefined): { group?: string; kind?: string; name?: string } | undefined {
  const k = command?.kubernetes;
  if (!k) return undefined;
  return { group: k.apiGroup, kind: k.subresource ? `${k.resource}/${k.subresource}` : k.resource, ...(k.name ? { name: k.name } : {}) };
}

function sendError(reply: FastifyReply, err: HttpProxyError, resource: ProxiedResource | undefined, command?: HttpCommand): FastifyReply {
  const body = resource?.protocol === 'kubernetes' ? kubernetesStatus(err, k8sWhat(command)) : errorBody(err);
  if (err.status === 401) reply.header('www-authenticate', 'Bearer realm="portcullis"');
  return reply.code(err.status).header('content-type', 'application/json').header('cache-control', 'no-store').send(JSON.stringify(body));
}

export function verdictMessage(verdict: VerdictIssued): string {
  return `${verdict.reasons.join('; ') || 'not allowed'} (Portcullis rule ${verdict.ruleIds.join(', ') || '(default)'}, policy v${verdict.policyVersion})`;
}

async function handleRequest(ctx: ProxyContext, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const settings = ctx.config.settings;
  const routed = routeRequest(request.raw.url ?? '/', request.headers.host, ctx.resources, settings.baseDomain);
  if (!routed.ok) return sendError(reply, new HttpProxyError(routed.status === 404 ? 'PCL_ERR_NOT_FOUND' : 'PCL_ERR_BAD_REQUEST', routed.message), undefined);
  const route = routed.route;
  const resource = route.resource;
  const startedAt = Date.now();

  let entry: ConnectionSession;
  try {
    entry = await sessionFor(ctx, request, resource);
  } catch (err) {
    return sendError(reply, errorFor(err), resource);
  }
  const session = entry.session;
  const identity = session.identity;

  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  let command: HttpCommand;
  try {
    command = buildHttpCommand({ resource, method: request.method, upstreamPath: route.upstreamPath, query: route.query, headers: request.headers, body, bodyBytesInCommand: settings.commandBodyBytes });
  } catch (err) {
    return sendError(reply, errorFor(err), resource);
  }

  // How this request's command ended, recorded once; it stops counting as running.
  let commandId = newId();
  let recorded = false;
  ctx.sessions.commandBegun(entry);
  const complete: Complete = (outcome) => {
    if (recorded) return;
    recorded = true;
    entry.inFlight.delete(flight);
    session.completeCommand({ commandId, durationMs: Date.now() - startedAt, ...outcome });
    ctx.sessions.commandDone(entry);
  };
  // Cancelled when the caller goes away before its answer is complete, or when the session is ended from outside
  // (revocation, token expiry, an admin, drain): then answered with the reason if nothing was sent yet, else cut off.
  const cancel = new AbortController();
  let endedFromOutside = false;
  const flight: InFlight = {
    end: (reason) => {
      endedFromOutside = true;
      cancel.abort();
      const e = new HttpProxyError('PCL_ERR_REVOKED', `Portcullis ended this request: ${reason}`);
      complete({ status: 'cancelled', error: e.message });
      if (!reply.raw.headersSent) void sendError(reply.header('connection', 'close'), e, resource, command);
      else reply.raw.destroy();
    },
  };
  entry.inFlight.add(flight);
  reply.raw.once('close', () => {
    entry.inFlight.delete(flight);
    // A finished response closing is not a cancellation (aborting builds a DOMException per request).
    if (!reply.raw.writableFinished) cancel.abort();
  });

  // A retry of a held request: the original's final verdict decides (docs/protocols/http.md#hold).
  const approvalId = request.headers[APPROVAL_HEADER];
  let verdict: VerdictIssued;
  try {
    if (typeof approvalId === 'string' && approvalId !== '') {
      const held = ctx.pending.match(approvalId, identity, resource.name, command);
      commandId = held.commandId;
      verdict = await finalVerdict(ctx, held.commandId, Math.min(hold(resource).timeoutMs, 2000), () => {
        throw new HttpProxyError('PCL_ERR_HELD', `approval ${approvalId} is still pending; retry later`, { approvalId, commandId: held.commandId });
      });
      if (verdict.effect === 'allow' || verdict.effect === 'mask') ctx.pending.consume(approvalId);
    } else {
      // The caller going away while its request is held withdraws the approval (kit's judgeCommand).
      const h = hold(resource);
      const outcome = await session.judge(command, { timeoutMs: settings.verdictTimeoutMs, holdTimeoutMs: h.timeoutMs, hold: h.mode === 'respond' ? 'return' : 'wait', signal: cancel.signal }, commandId);
      if (endedFromOutside) return reply;
      if (!outcome.run) throw refusalError(ctx, outcome.refusal, commandId, identity, resource, command);
      verdict = outcome.verdict;
    }
  } catch (err) {
    const e = errorFor(err);
    complete({ status: 'refused', tag: String(e.status), error: e.message });
    return sendError(reply, e, resource, command);
  }

  if (verdict.effect === 'block' || verdict.effect === 'hold') {
    const e = new HttpProxyError('PCL_ERR_FORBIDDEN', verdictMessage(verdict), { rule: verdict.ruleIds.join(', '), reason: verdict.reasons.join('; ') });
    complete({ status: 'refused', tag: '403', error: e.message });
    return sendError(reply, e, resource, command);
  }

  if (endedFromOutside) return reply;
  const plan = planFromMask(verdict.effect === 'mask' ? verdict.mask : undefined, {
    secrets: resource.protocol === 'kubernetes' && resource.maskSecrets && command.kubernetes?.resource === 'secrets',
    secretResource: command.kubernetes?.resource === 'secrets',
  });
  return forward(ctx, request, reply, { route, body, command, plan, complete, signal: cancel.signal });
}

/** Records how the request's command ended (once). */
type Complete = (outcome: Omit<CommandOutcome, 'commandId' | 'durationMs'>) => void;

/** The gateway's refusal, as this proxy says it (status codes per docs/protocols/http.md). */
function refusalError(ctx: ProxyContext, refusal: CommandRefusal, commandId: string, identity: Identity, resource: ProxiedResource, command: HttpCommand): HttpProxyError {
  const verdict = refusal.verdict;
  switch (refusal.code) {
    case 'PCL_ERR_HELD': {
      const approvalId = refusal.approvalId!;
      ctx.pending.add(approvalId, { commandId, subject: identity.subject, issuer: identity.issuer, resource: resource.name, command });
      return new HttpProxyError('PCL_ERR_HELD', `held for approval ${approvalId}: ${verdict ? verdictMessage(verdict) : refusal.detail}. Once it is granted, send the same request again with header "Portcullis-Approval: ${approvalId}"`, { approvalId, commandId });
    }
    case 'PCL_ERR_BLOCKED':
    case 'PCL_ERR_APPROVAL_DENIED':
      return new HttpProxyError('PCL_ERR_FORBIDDEN', verdictMessage(verdict!), { rule: verdict!.ruleIds.join(', '), reason: verdict!.reasons.join('; ') });
    case 'PCL_ERR_HOLD_UNRESOLVED':
      return new HttpProxyError('PCL_ERR_VERDICT_TIMEOUT', `held for approval ${refusal.approvalId}, which was not decided within ${resource.hold.timeoutMs} ms; the request was not forwarded`);
    case 'PCL_ERR_CANCELLED':
      return new HttpProxyError('PCL_ERR_BAD_REQUEST', `the request was cancelled: ${refusal.detail}`);
    default:
      return errorFor(refusal.cause ?? refusal);
  }
}

function hold(resource: ProxiedResource): { mode: 'respond' | 'wait'; timeoutMs: number } {
  return resource.hold;
}

async function finalVerdict(ctx: ProxyContext, commandId: string, timeoutMs: number, onTimeout: () => never): Promise<VerdictIssued> {
  try {
    return await ctx.gate.awaitFinal(commandId, { timeoutMs });
  } catch (err) {
    if ((err as { code?: string }).code === 'PCL_ERR_VERDICT_TIMEOUT') onTimeout();
    throw err;
  }
}

function forwardHeaders(request: FastifyRequest, resource: ProxiedResource, credential: Record<string, string>, masking: boolean): Record<string, string | string[]> {
  const drop = credentialHeaderNames(resource);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || drop.has(name) || isHopByHop(name, request.headers.connection) || name.startsWith('portcullis-') || isForwardedIdentityHeader(resource, name)) continue;
    out[name] = value;
  }
  out['x-forwarded-for'] = request.ip;
  if (masking) {
    out['accept-encoding'] = 'identity';
    // Masking needs JSON; Kubernetes clients may prefer protobuf.
    if (resource.protocol === 'kubernetes' && typeof out.accept === 'string' && out.accept.includes('protobuf')) out.accept = 'application/json';
  }
  return { ...out, ...credential };
}

async function forward(
  ctx: ProxyContext,
  request: FastifyRequest,
  reply: FastifyReply,
  job: { route: Route; body: Buffer; command: HttpCommand; plan: JsonMaskPlan; complete: Complete; signal: AbortSignal },
): Promise<FastifyReply> {
  const { route, body, command, plan, complete } = job;
  const resource = route.resource;
  const settings = ctx.config.settings;
  const masking = !planIsEmpty(plan);

  let upstream: Awaited<ReturnType<typeof undiciRequest>>;
  // Read once per request (credential files rotate without a restart): injected upstream, scrubbed from the record.
  let credential: Record<string, string>;
  try {
    credential = credentialHeaders(resource, ctx.env);
    // The judged path, not the caller's spelling of it (Kubernetes paths are canonical, so the same bytes).
    upstream = await undiciRequest(upstreamUrl(resource, encodeNormalizedPath(command.path), route.query), {
      method: request.method as 'GET',
      headers: forwardHeaders(request, resource, credential, masking),
      ...(body.length > 0 ? { body } : {}),
      dispatcher: ctx.agents.get(resource.name)!,
      signal: job.signal,
    });
  } catch (err) {
    const e = err instanceof HttpProxyError ? err : new HttpProxyError('PCL_ERR_UPSTREAM', `the upstream of ${resource.name} could not be reached`);
    ctx.logger.warn({ resource: resource.name, err: (err as Error).message }, 'upstream request failed');
    complete({ status: 'failed', tag: String(e.status), error: e.message });
    return sendError(reply, e, resource, command);
  }

  const status = upstream.statusCode;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined || isHopByHop(name, upstream.headers.connection) || name === 'set-cookie') continue;
    headers[name] = value;
  }
  const contentType = typeof upstream.headers['content-type'] === 'string' ? upstream.headers['content-type'] : undefined;
  const contentEncoding = typeof upstream.headers['content-encoding'] === 'string' ? upstream.headers['content-encoding'] : undefined;
  const excerpt = new ExcerptCapture(settings.recordBytes);
  const outcome = status < 400 ? ('executed' as const) : ('failed' as const);
  const scrub = Object.values(credential).flatMap((v) => [v, v.replace(/^(Bearer|Basic) /, '')]);
  const finish = (error?: string): void =>
    complete({ status: error ? 'failed' : outcome, tag: String(status), excerpt: excerpt.result(contentType), scrub, ...(error ? { error } : {}) });

  const noBody = request.method === 'HEAD' || status === 204 || status === 304;
  if (masking && !noBody) {
    const mode = maskModeFor(contentType, contentEncoding);
    if (mode === 'refuse') {
      upstream.body.destroy();
      const e = new HttpProxyError('PCL_ERR_MASK_LIMIT', `the response (${contentType ?? 'no content type'}${contentEncoding ? `, ${contentEncoding}` : ''}) must be masked but cannot be; it was not passed on`);
      complete({ status: 'failed', tag: '502', error: e.message });
      return sendError(reply, e, resource, command);
    }
    if (mode === 'json' || mode === 'text') {
      let text: string;
      try {
        const raw = await readCapped(upstream.body, settings.maxMaskedBodyBytes);
        text = mode === 'json' ? maskJsonText(raw.toString('utf8'), plan) : maskText(raw.toString('utf8'), plan.detectors);
      } catch (err) {
        const e = err instanceof HttpProxyError ? err : new HttpProxyError('PCL_ERR_UPSTREAM', 'the upstream response could not be read');
        complete({ status: 'failed', tag: '502', error: e.message });
        return sendError(reply, e, resource, command);
      }
      const out = Buffer.from(text, 'utf8');
      excerpt.add(out);
      delete headers['content-length'];
      delete headers.etag;
      reply.raw.once('finish', () => finish());
      return reply.code(status).headers(headers).header('content-length', out.length).send(out);
    }
    // Line-oriented streams are masked as they flow.
    delete headers['content-length'];
    const masked = upstream.body.pipe(new LineMasker(plan, settings.maxMaskedBodyBytes));
    upstream.body.on('error', (err) => masked.destroy(err));
    return streamOut(reply, status, headers, masked, excerpt, finish, ctx.logger);
  }
  return streamOut(reply, status, headers, upstream.body, excerpt, finish, ctx.logger);
}

function streamOut(reply: FastifyReply, status: number, headers: Record<string, string | string[]>, body: Readable, excerpt: ExcerptCapture, finish: (error?: string) => void, logger: Logger): FastifyReply {
  const tap = new PassThrough();
  body.on('data', (chunk: Buffer) => excerpt.add(chunk));
  body.on('error', (err) => {
    logger.warn({ err: (err as Error).message }, 'response stream failed');
    tap.destroy(err);
  });
  body.pipe(tap);
  let done = false;
  const end = (error?: string): void => {
    if (done) return;
    done = true;
    finish(error);
  };
  reply.raw.once('finish', () => end());
  reply.raw.once('close', () => end(reply.raw.writableFinished ? undefined : 'the response was cut off before it was complete'));
  return reply.code(status).headers(headers).send(tap);
}

async function readCapped(body: Readable, cap: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > cap) {
      body.destroy();
      throw new HttpProxyError('PCL_ERR_MASK_LIMIT', `the response must be masked but exceeds ${cap} bytes; it was not passed on (fail closed)`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
