/**
 * HTTP request analysis: the method and a normalised path that policy globs
 * can match safely, plus the Kubernetes classification for API server paths.
 *
 * Normalisation follows RFC 3986: percent-decode each path segment once
 * (2.1, 2.4), remove dot segments (5.2.4), and collapse empty segments. It
 * fails closed on anything a target might read differently from us: an
 * encoded slash or backslash, NUL, a sequence still percent-encoded after one
 * decode (double encoding), malformed encoding, or `..` above the root.
 */
import type { HttpCommand } from '@portcullis/schemas';
import type { HttpAnalysis, Unparseable } from './types.ts';
import { classifyKubernetes, type KubernetesRequest } from './kubernetes.ts';

export { classifyKubernetes, type KubernetesClassification, type KubernetesRequest } from './kubernetes.ts';

/**
 * The Kubernetes request a method + path + query make, as the API server's
 * RequestInfoFactory sees it; undefined for non-resource URLs (/healthz,
 * /version, /openapi/v2, discovery) and for paths it would reject — use
 * classifyKubernetes to tell those apart. `path` should be normalised first
 * (normalizePath).
 */
export function classifyKubernetesRequest(method: string, path: string, query: string): KubernetesRequest | undefined {
  const c = classifyKubernetes(method, path, query);
  return c.kind === 'resource' ? c.request : undefined;
}

export type NormalizedPath = { ok: true; path: string } | { ok: false; error: string };

export function normalizePath(rawPath: string): NormalizedPath {
  if (!rawPath.startsWith('/')) return { ok: false, error: 'path does not start with /' };
  const rawSegments = rawPath.split('/').slice(1);
  const out: string[] = [];
  for (const raw of rawSegments) {
    let segment: string;
    try {
      segment = decodeURIComponent(raw);
    } catch {
      return { ok: false, error: 'malformed percent-encoding in path' };
    }
    if (segment.includes('/') || segment.includes('\\')) return { ok: false, error: 'encoded slash or backslash in a path segment' };
    if (segment.includes('\0')) return { ok: false, error: 'NUL in path' };
    if (hasPercentEncoding(segment)) return { ok: false, error: 'double percent-encoding in path' };
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (out.length === 0) return { ok: false, error: 'path escapes the root' };
      out.pop();
      continue;
    }
    out.push(segment);
  }
  const last = rawSegments[rawSegments.length - 1];
  const trailingSlash = out.length > 0 && (last === '' || last === '.' || last === '..');
  return { ok: true, path: '/' + out.join('/') + (trailingSlash ? '/' : '') };
}

function hasPercentEncoding(s: string): boolean {
  for (let i = 0; i + 2 < s.length; i++) {
    if (s[i] === '%' && isHex(s[i + 1]!) && isHex(s[i + 2]!)) return true;
  }
  return false;
}

function isHex(c: string): boolean {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/** True for paths the Kubernetes API server routes as API groups (/api, /api/…, /apis, /apis/…). */
function isKubernetesApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/apis' || path.startsWith('/apis/');
}

/**
 * Normalises the request and classifies it. `command.kubernetes`, when the
 * proxy supplied it, is used as is: the proxy knows from the resource's kind
 * (tags on the ResourceRef) whether the target is a Kubernetes API server.
 * Without it, any /api or /apis path is classified, since treating a
 * Kubernetes request as plain HTTP would skip the Kubernetes rules.
 */
export function analyzeHttp(command: HttpCommand): HttpAnalysis | Unparseable {
  const method = command.method.toUpperCase();
  if (method === '' || !isToken(method)) return { ok: false, error: 'unparseable: invalid HTTP method' };
  const normalized = normalizePath(command.path);
  if (!normalized.ok) return { ok: false, error: `unparseable: ${normalized.error}` };
  const path = normalized.path;
  const analysis: HttpAnalysis = { ok: true, kind: 'http', method, path };
  if (command.kubernetes !== undefined) {
    analysis.kubernetes = { ...command.kubernetes };
    return analysis;
  }
  if (!isKubernetesApiPath(path)) return analysis;
  const query = command.query.startsWith('?') ? command.query.slice(1) : command.query;
  const c = classifyKubernetes(method, path, query);
  if (c.kind === 'invalid') return { ok: false, error: `unparseable: ${c.reason}` };
  if (c.kind === 'resource') analysis.kubernetes = { ...c.request };
  return analysis;
}

/** RFC 9110 5.6.2 token characters. */
function isToken(s: string): boolean {
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    const alnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (!alnum && !"!#$%&'*+-.^_`|~".includes(ch)) return false;
  }
  return true;
}
