import { createHash } from 'node:crypto';
import type { HttpCommand } from '@portcullis/schemas';
import { canonicalPathProblem, canonicalQueryProblem, classifyKubernetesRequest, normalizePath } from '@portcullis/policy-decision';
import type { ProxiedResource } from './config.ts';
import { credentialHeaderNames } from './credentials.ts';
import { HttpProxyError } from './errors.ts';

/**
 * Request headers copied into the command for policies and the audit record (lower-case), besides
 * every `impersonate-*` header. Credentials never are.
 */
const SELECTED_HEADERS = [
  'content-type', 'accept', 'user-agent', 'content-encoding', 'x-request-id', 'x-forwarded-for',
  'kubectl-command', 'kubectl-session', 'sec-websocket-protocol', 'x-stream-protocol-version', 'dry-run', 'if-match', 'origin',
];
/**
 * Headers some frameworks read as the request's real method or path (method-override middleware,
 * IIS / Symfony URL rewriting). A policy judges the method and path, so requests with them are refused.
 */
const REDIRECTING_HEADERS = ['x-http-method-override', 'x-http-method', 'x-method-override', 'x-original-url', 'x-rewrite-url', 'x-original-method'];
/** Impersonate-User, -Group, -Uid, -Extra-<key>: who the API server acts as. */
const IMPERSONATION_PREFIX = 'impersonate-';
/** A policy-visible header longer than this is refused rather than judged by a prefix. */
export const MAX_VISIBLE_HEADER_BYTES = 4096;

/** The headers a policy sees, lower-case names; multi-line headers joined with ", " as Node's parser joins them. */
export function visibleHeaders(resource: ProxiedResource, all: Record<string, string | string[] | undefined>): Record<string, string> {
  const excluded = credentialHeaderNames(resource);
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(all)) {
    if (v === undefined || excluded.has(name) || !(SELECTED_HEADERS.includes(name) || name.startsWith(IMPERSONATION_PREFIX))) continue;
    const value = Array.isArray(v) ? v.join(', ') : v;
    if (Buffer.byteLength(value) > MAX_VISIBLE_HEADER_BYTES) {
      throw new HttpProxyError('PCL_ERR_BAD_REQUEST', `the ${name} header is longer than ${MAX_VISIBLE_HEADER_BYTES} bytes; policies could not judge all of it, so nothing was forwarded`);
    }
    headers[name] = value;
  }
  return headers;
}

function isSensitiveHeader(resource: ProxiedResource, name: string): boolean {
  return name.startsWith(IMPERSONATION_PREFIX) || name.startsWith('x-remote-') || REDIRECTING_HEADERS.includes(name) || SELECTED_HEADERS.includes(name) || credentialHeaderNames(resource).has(name);
}

export function bodyDigest(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/**
 * The HttpCommand for one request: method, normalised path (the same
 * normalizePath the PDP applies, so the record shows what policy matched),
 * raw query, selected headers, body size and sha256 digest, and for
 * Kubernetes resources the API server's view of the request.
 */
export function buildHttpCommand(input: {
  resource: ProxiedResource;
  method: string;
  upstreamPath: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  bodyBytesInCommand: number;
  upgrade?: string;
}): HttpCommand {
  if (input.resource.protocol === 'kubernetes') {
    // The path goes upstream as sent, so only a canonical one can be judged (docs/protocols/kubernetes-requests.md).
    const problem = canonicalPathProblem(input.upstreamPath) ?? canonicalQueryProblem(input.query);
    if (problem !== undefined) throw new HttpProxyError('PCL_ERR_BAD_REQUEST', `the request is not in canonical form (${problem}); nothing was forwarded`);
  }
  const normalized = normalizePath(input.upstreamPath);
  if (!normalized.ok) throw new HttpProxyError('PCL_ERR_BAD_REQUEST', `the request path cannot be judged: ${normalized.error}`);
  // CGI / WSGI servers read `Impersonate_User` as Impersonate-User: an underscore spelling of a header that matters is refused.
  const lookalike = Object.keys(input.headers).find((name) => name.includes('_') && isSensitiveHeader(input.resource, name.replaceAll('_', '-')));
  if (lookalike) throw new HttpProxyError('PCL_ERR_BAD_REQUEST', `the ${lookalike} header is spelled with "_" where a header policies judge has "-"; nothing was forwarded`);
  const redirecting = REDIRECTING_HEADERS.find((name) => input.headers[name] !== undefined);
  if (redirecting) throw new HttpProxyError('PCL_ERR_BAD_REQUEST', `the ${redirecting} header would change the method or path the policy judges; nothing was forwarded`);
  const headers = visibleHeaders(input.resource, input.headers);
  const command: HttpCommand = {
    kind: 'http',
    method: input.method.toUpperCase(),
    path: normalized.path,
    query: input.query,
    headers,
    bodySize: input.body.length,
    ...(input.body.length > 0 ? { bodyDigest: bodyDigest(input.body) } : {}),
  };
  if (input.bodyBytesInCommand > 0 && input.body.length > 0) command.body = input.body.subarray(0, input.bodyBytesInCommand).toString('utf8');
  if (input.upgrade) command.upgrade = input.upgrade.slice(0, 100);
  if (input.resource.protocol === 'kubernetes') {
    const k8s = classifyKubernetesRequest(command.method, normalized.path, input.query);
    if (k8s) command.kubernetes = k8s;
  }
  return command;
}
