import { createHash } from 'node:crypto';
import type { HttpCommand } from '@portcullis/schemas';
import { classifyKubernetesRequest, normalizePath } from '@portcullis/policy-decision';
import type { ProxiedResource } from './config.ts';
import { credentialHeaderNames } from './credentials.ts';
import { HttpProxyError } from './errors.ts';

/** Request headers copied into the command for policies and the audit record (lower-case). Credentials never are. */
const SELECTED_HEADERS = [
  'content-type', 'accept', 'user-agent', 'content-encoding', 'x-request-id', 'x-forwarded-for',
  'kubectl-command', 'kubectl-session', 'impersonate-user', 'impersonate-group', 'impersonate-uid',
  'sec-websocket-protocol', 'x-stream-protocol-version', 'dry-run', 'if-match', 'origin',
];

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
  const normalized = normalizePath(input.upstreamPath);
  if (!normalized.ok) throw new HttpProxyError('PCL_ERR_BAD_REQUEST', `the request path cannot be judged: ${normalized.error}`);
  const excluded = credentialHeaderNames(input.resource);
  const headers: Record<string, string> = {};
  for (const name of SELECTED_HEADERS) {
    if (excluded.has(name)) continue;
    const v = input.headers[name];
    if (v !== undefined) headers[name] = (Array.isArray(v) ? v.join(', ') : v).slice(0, 1024);
  }
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
