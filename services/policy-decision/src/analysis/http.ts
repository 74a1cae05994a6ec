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
import { httpClasses } from './http-classes.ts';

export { classifyKubernetes, type KubernetesClassification, type KubernetesRequest } from './kubernetes.ts';
export { HTTP_CLASSES, httpClasses, type HttpClass } from './http-classes.ts';

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
    // `..;/` is `..` to a servlet container and a name to everyone else: path parameters are refused.
    if (segment.includes(';')) return { ok: false, error: 'a ";" (path parameter) in the path' };
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

/** Characters RFC 3986 allows unescaped in a path segment besides unreserved ones (`;` never reaches here). */
const SEGMENT_SAFE_ESCAPES = /%(3A|40|21|24|26|27|28|29|2A|2B|2C|3D)/gi;

/**
 * The path to send upstream for a normalised path: each segment
 * percent-encoded once, so the upstream reads exactly the segments the
 * policy matched (no `..`, `//` or `%61dmin` left to interpret).
 */
export function encodeNormalizedPath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(SEGMENT_SAFE_ESCAPES, (e) => decodeURIComponent(e)))
    .join('/');
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
export function isKubernetesApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/apis' || path.startsWith('/apis/');
}

/** Characters a segment of a canonical path may hold: no percent-encoding, `;`, whitespace, quotes or backslashes. */
const CANONICAL_SEGMENT = /^[A-Za-z0-9._~:@+=,-]+$/;
const printable = (s: string): string => JSON.stringify(s.length > 60 ? `${s.slice(0, 57)}...` : s);

/**
 * Why `rawPath` (as the caller sent it) is not canonical, or undefined.
 * Kubernetes targets accept only canonical paths, so the policy, the proxy
 * and the API server (or an aggregated API server, or a kubelet behind a
 * proxy subresource) can never read one request two ways: no `//`, no
 * trailing `/`, no `.` / `..` segments, no percent-encoding, no `;params`.
 */
export function canonicalPathProblem(rawPath: string): string | undefined {
  if (rawPath === '/') return undefined;
  if (!rawPath.startsWith('/')) return 'the path does not start with /';
  for (const segment of rawPath.slice(1).split('/')) {
    if (segment === '') return 'an empty path segment (// or a trailing /)';
    if (segment === '.' || segment === '..') return 'a dot segment (. or ..)';
    if (!CANONICAL_SEGMENT.test(segment)) return `the path segment ${printable(segment)} has characters outside A-Z a-z 0-9 . _ ~ : @ + = , - (percent-encoding, ";", spaces, …)`;
  }
  return undefined;
}

/**
 * Why a query string (without `?`) could be read two ways, or undefined: Go's
 * url.ParseQuery drops pairs with `;` or bad percent-encoding, which
 * URLSearchParams keeps.
 */
export function canonicalQueryProblem(query: string): string | undefined {
  if (query.includes(';')) return 'a ";" in the query';
  for (let i = 0; i < query.length; i++) {
    if (query[i] === '%' && !(i + 2 < query.length && isHex(query[i + 1]!) && isHex(query[i + 2]!))) return 'malformed percent-encoding in the query';
    const c = query.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x23 || c > 0x7e) return 'a space, control or non-ASCII character in the query';
  }
  return undefined;
}

/**
 * Normalises the request and classifies it. `target` is the resource's kind.
 * For a Kubernetes target the path and query must be canonical, and a
 * resource path the API server would read otherwise is unparseable.
 * `command.kubernetes`, when the proxy supplied it, is used as is (it
 * classified the same canonical path with the same code). Without it, any
 * /api or /apis path is classified, since treating a Kubernetes request as
 * plain HTTP would skip the Kubernetes rules.
 */
export function analyzeHttp(command: HttpCommand, target?: string): HttpAnalysis | Unparseable {
  const method = command.method.toUpperCase();
  if (method === '' || !isToken(method)) return { ok: false, error: 'unparseable: invalid HTTP method' };
  const kubernetesTarget = target === 'kubernetes' || command.kubernetes !== undefined;
  const query = command.query.startsWith('?') ? command.query.slice(1) : command.query;
  if (kubernetesTarget) {
    if (method !== command.method) return { ok: false, error: 'unparseable: the method of a Kubernetes request must be upper case' };
    const problem = canonicalPathProblem(command.path) ?? canonicalQueryProblem(query);
    if (problem !== undefined) return { ok: false, error: `unparseable: not a canonical Kubernetes request: ${problem}` };
  }
  const normalized = normalizePath(command.path);
  if (!normalized.ok) return { ok: false, error: `unparseable: ${normalized.error}` };
  const path = normalized.path;
  const headers = lowerCaseNames(command.headers);
  const analysis: HttpAnalysis = { ok: true, kind: 'http', method, path, headers, classes: [] };
  if (command.kubernetes !== undefined) {
    analysis.kubernetes = { ...command.kubernetes };
  } else if (isKubernetesApiPath(path)) {
    const c = classifyKubernetes(method, path, query);
    if (c.kind === 'invalid' || (c.kind === 'non-canonical' && kubernetesTarget)) return { ok: false, error: `unparseable: ${c.reason}` };
    if (c.kind === 'resource') analysis.kubernetes = { ...c.request };
  }
  analysis.classes = httpClasses(analysis.kubernetes as KubernetesRequest | undefined, headers);
  return analysis;
}

function lowerCaseNames(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]}, ${value}` : value;
  }
  return out;
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
