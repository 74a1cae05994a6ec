/**
 * The console's API proxy: /api/approvals/* and /api/query/* are forwarded to
 * the approvals service and the query API with the session's access token, so
 * the browser never holds a token. The upstreams authorize as they always do
 * (approver groups, the auditor group); the proxy adds no rights.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PortcullisError } from '@portcullis/kit';

/** Response headers worth passing on; everything else (cookies, server info) stays upstream. */
const PASSED_HEADERS = ['content-type', 'content-disposition', 'cache-control', 'x-accel-buffering'];

/** The upstream URL for a path below the prefix; refuses anything that would leave the upstream's origin. */
export function upstreamUrl(base: string, rest: string, query: string): URL {
  const root = new URL(base);
  const url = URL.parse(`${root.origin}${root.pathname.replace(/\/$/, '')}/${rest}${query ? `?${query}` : ''}`);
  if (!url || url.origin !== root.origin || rest.includes('\\') || rest.split('/').some((seg) => seg === '..' || seg === '.' || decodeURIComponent(seg).includes('/'))) {
    throw new PortcullisError('PCL_ERR_VALIDATION', 'not an API path');
  }
  return url;
}

export async function forward(request: FastifyRequest, reply: FastifyReply, target: URL, accessToken: string, fetchImpl: typeof fetch): Promise<FastifyReply> {
  const headers: Record<string, string> = { authorization: `Bearer ${accessToken}`, accept: request.headers.accept ?? 'application/json' };
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  if (hasBody) headers['content-type'] = 'application/json';
  // The upstream must answer within a minute; its body (an export, an event stream) may then run
  // as long as the browser keeps reading it, and stops when the browser goes away.
  const upstream = new AbortController();
  reply.raw.once('close', () => upstream.abort());
  const answerTimeout = setTimeout(() => upstream.abort(), 60_000);
  const res = await fetchImpl(target, {
    method: request.method,
    headers,
    ...(hasBody ? { body: JSON.stringify(request.body ?? {}) } : {}),
    signal: upstream.signal,
  })
    .catch((err: Error) => {
      throw new PortcullisError('PCL_ERR_INTERNAL', `${target.origin} is unreachable: ${err.message}`, { details: { upstream: target.origin } });
    })
    .finally(() => clearTimeout(answerTimeout));
  reply.status(res.status);
  for (const h of PASSED_HEADERS) {
    const v = res.headers.get(h);
    if (v) reply.header(h, v);
  }
  if (!res.body) return reply.send();
  // Streamed: exports can be large.
  return reply.send(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream));
}
