import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { newId, type HttpCommand } from '@portcullis/schemas';
import { describeError, timedVerifier, type Arrival } from '@portcullis/kit';
import { encodeNormalizedPath } from '@portcullis/policy-decision';
import { authenticate, errorFor, resourceRef, verdictMessage, type ProxyContext } from './app.ts';
import { buildHttpCommand } from './command.ts';
import { credentialHeaderNames, credentialHeaders, isForwardedIdentityHeader } from './credentials.ts';
import { errorBody, HttpProxyError, kubernetesStatus } from './errors.ts';
import { HttpSession, type CommandOutcome } from './recording.ts';
import { routeRequest, upstreamUrl } from './routing.ts';
import { isHopByHop, tlsOptions } from './upstream.ts';

/**
 * Upgrades (WebSocket, SPDY/3.1 — kubectl exec, attach, port-forward):
 * the upgrade request is authenticated and judged like any request and makes
 * a session; once allowed, the request goes upstream with the gateway's
 * credential, and after the upstream's 101 the bytes are piped both ways
 * uninspected. CommandCompleted (tag 101, duration) and SessionClosed are
 * written when either side closes. A mask verdict cannot be honoured on an
 * opaque stream, so it is refused.
 */
/** WebSocket (RFC 6455) and SPDY/3.1 (kubectl's older exec / port-forward transport). */
const STREAM_PROTOCOLS = new Set(['websocket', 'spdy/3.1']);

export async function handleUpgrade(ctx: ProxyContext, req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
  socket.on('error', () => socket.destroy());
  const routed = routeRequest(req.url ?? '/', req.headers.host, ctx.resources, ctx.config.settings.baseDomain);
  if (!routed.ok) return refuse(socket, new HttpProxyError(routed.status === 404 ? 'PCL_ERR_NOT_FOUND' : 'PCL_ERR_BAD_REQUEST', routed.message), false);
  const { resource, upstreamPath, query } = routed.route;
  const k8s = resource.protocol === 'kubernetes';
  // After a 101 the bytes are not judged: only protocols that carry one judged stream may switch.
  // h2c (or TLS, or anything else) would open a tunnel for any number of unjudged requests.
  const protocols = String(req.headers.upgrade ?? '').split(',').map((p) => p.trim().toLowerCase());
  if (protocols.length !== 1 || !STREAM_PROTOCOLS.has(protocols[0]!)) {
    return refuse(socket, new HttpProxyError('PCL_ERR_BAD_REQUEST', `the gateway upgrades only to ${[...STREAM_PROTOCOLS].join(' or ')}, not ${JSON.stringify(String(req.headers.upgrade ?? ''))}; nothing was forwarded`), k8s);
  }
  let command: HttpCommand | undefined;
  let session: HttpSession | undefined;
  const commandId = newId();
  const started = Date.now();
  /** The upgrade's command ends once, and with it the session (one session per upgraded stream). */
  let completed = false;
  const complete = (outcome: Omit<CommandOutcome, 'commandId' | 'durationMs'>, closeReason?: string): void => {
    if (completed || !session) return;
    completed = true;
    session.completeCommand({ commandId, durationMs: Date.now() - started, ...outcome });
    void session.close(closeReason);
  };
  /** Set when the stream is ended from outside (revocation, token expiry, an admin, drain). */
  let endedBy: string | undefined;
  const gone = new AbortController();
  try {
    const arrival: Arrival = { acceptedAt: Date.now() };
    const { identity, expiresAt } = await authenticate(timedVerifier(ctx.verifier, arrival), req.headers.authorization);
    command = buildHttpCommand({ resource, method: req.method ?? 'GET', upstreamPath, query, headers: req.headers, body: Buffer.alloc(0), bodyBytesInCommand: 0, upgrade: String(req.headers.upgrade ?? '') });
    session = new HttpSession(ctx, identity, resourceRef(resource), { clientAddress: req.socket.remoteAddress ?? '', userAgent: req.headers['user-agent'], tokenExpiresAt: expiresAt, arrival });
    const unregister = ctx.live.register(session.sessionId, (reason) => {
      endedBy = reason;
      gone.abort();
      complete({ status: 'cancelled', error: `Portcullis ended this stream: ${reason}` }, reason);
      socket.destroy();
    });
    socket.once('close', unregister);
    // The caller's socket closing while held withdraws the approval (kit's judgeCommand).
    const onClose = (): void => gone.abort();
    socket.once('close', onClose);
    const outcome = await session.judge(command, {
      timeoutMs: ctx.config.settings.verdictTimeoutMs,
      holdTimeoutMs: resource.hold.timeoutMs,
      hold: resource.hold.mode === 'respond' ? 'return' : 'wait',
      signal: gone.signal,
    }, commandId);
    socket.off('close', onClose);
    if (!outcome.run) {
      const { refusal } = outcome;
      if (refusal.code === 'PCL_ERR_HELD') throw new HttpProxyError('PCL_ERR_FORBIDDEN', `held for approval ${refusal.approvalId}: ${verdictMessage(refusal.verdict!)}; upgrades cannot be replayed, set hold.mode: wait for this resource`);
      if (refusal.verdict) throw new HttpProxyError('PCL_ERR_FORBIDDEN', verdictMessage(refusal.verdict));
      if (refusal.code === 'PCL_ERR_HOLD_UNRESOLVED') throw new HttpProxyError('PCL_ERR_VERDICT_TIMEOUT', `held for approval ${refusal.approvalId}, which was not decided within ${resource.hold.timeoutMs} ms; the upgrade was refused`);
      throw refusal.cause ?? refusal;
    }
    const verdict = outcome.verdict;
    // Secret data is masked in responses; a stream (a WebSocket watch) cannot be.
    if (verdict.effect === 'allow' && k8s && resource.maskSecrets && command.kubernetes?.resource === 'secrets') {
      throw new HttpProxyError('PCL_ERR_FORBIDDEN', 'Secrets are masked in responses and an upgraded stream cannot be masked, so upgrades to secrets are refused');
    }
    if (verdict.effect !== 'allow') {
      const why = verdict.effect === 'mask' ? `output of ${command.upgrade} streams cannot be masked, so a mask verdict refuses it: ${verdictMessage(verdict)}` : verdictMessage(verdict);
      throw new HttpProxyError('PCL_ERR_FORBIDDEN', why);
    }
  } catch (err) {
    const e = errorFor(err);
    complete({ status: 'refused', tag: String(e.status), error: e.message });
    return refuse(socket, e, k8s, command);
  }
  if (endedBy !== undefined) return;

  const drop = credentialHeaderNames(resource);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || drop.has(name) || name.startsWith('portcullis-') || name === 'host' || isForwardedIdentityHeader(resource, name)) continue;
    if (isHopByHop(name, undefined) && name !== 'upgrade') continue;
    headers[name] = value;
  }
  headers.connection = 'Upgrade';
  Object.assign(headers, credentialHeaders(resource, ctx.env));
  const url = upstreamUrl(resource, encodeNormalizedPath(command!.path), query);
  const upstreamReq = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method: req.method, headers, ...(url.protocol === 'https:' ? tlsOptions(resource) : {}) });
  upstreamReq.on('upgrade', (res: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
    const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? 'Switching Protocols'}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
    if (upstreamHead.length) socket.write(upstreamHead);
    if (head.length) upstreamSocket.write(head);
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      socket.destroy();
      upstreamSocket.destroy();
      complete({ status: 'executed', tag: String(res.statusCode), excerpt: { text: `[${command!.upgrade} stream, ${Date.now() - started} ms, bytes not inspected]`, truncated: false } });
    };
    upstreamSocket.on('close', close).on('error', close);
    socket.on('close', close);
  });
  upstreamReq.on('response', (res: IncomingMessage) => {
    // The upstream refused the upgrade: relay its answer as is.
    const lines = [`HTTP/1.1 ${res.statusCode} ${res.statusMessage ?? ''}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      const name = res.rawHeaders[i]!.toLowerCase();
      if (name === 'connection' || name === 'transfer-encoding' || name === 'content-length') continue;
      lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    }
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      socket.end(`${lines.join('\r\n')}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n` + body.toString('latin1'), 'latin1');
      complete({ status: 'failed', tag: String(res.statusCode), excerpt: { text: body.subarray(0, ctx.config.settings.recordBytes).toString('utf8'), truncated: body.length > ctx.config.settings.recordBytes } });
    });
  });
  upstreamReq.on('error', (err) => {
    ctx.logger.warn({ resource: resource.name, err: describeError(err) }, 'upstream upgrade failed');
    const e = new HttpProxyError('PCL_ERR_UPSTREAM', `the upstream of ${resource.name} could not be reached`);
    complete({ status: 'failed', tag: '502', error: e.message });
    refuse(socket, e, k8s, command);
  });
  upstreamReq.end();
}

function refuse(socket: Socket, err: HttpProxyError, k8s: boolean, command?: HttpCommand): void {
  const k = command?.kubernetes;
  const body = JSON.stringify(k8s ? kubernetesStatus(err, k ? { group: k.apiGroup, kind: k.subresource ? `${k.resource}/${k.subresource}` : k.resource, ...(k.name ? { name: k.name } : {}) } : undefined) : errorBody(err));
  if (!socket.writable) return void socket.destroy();
  socket.end(`HTTP/1.1 ${err.status} ${err.status === 401 ? 'Unauthorized' : err.status === 403 ? 'Forbidden' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
