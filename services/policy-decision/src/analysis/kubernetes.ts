/**
 * Kubernetes API request classification, following the API server's
 * RequestInfoFactory.NewRequestInfo (k8s.io/apiserver/pkg/endpoints/request/
 * requestinfo.go) step by step, so a policy sees the verb / group / resource /
 * namespace / name the API server will authorise.
 *
 * One addition over RequestInfo: the streaming pod subresources exec, attach
 * and portforward get verb `connect` (the API server serves them with its
 * connect handler and authorises them as create/get on pods/exec …), so a
 * policy can single them out without knowing the HTTP method kubectl used.
 */
import type { z } from 'zod';
import type { KubernetesRequest as KubernetesRequestSchema } from '@portcullis/schemas';

/** @portcullis/schemas exports the zod schema only; this is its inferred type. */
export type KubernetesRequest = z.infer<typeof KubernetesRequestSchema>;

export type KubernetesClassification =
  | { kind: 'resource'; request: KubernetesRequest }
  | { kind: 'non-resource' }
  /** A resource-shaped path the API server would refuse or could not classify; fail closed. */
  | { kind: 'invalid'; reason: string }
  /** A resource-shaped path not in canonical spelling (`SECRETS`, `secrets.`, `/apis/v1/…`); refused for Kubernetes targets. */
  | { kind: 'non-canonical'; reason: string };

/** APIPrefixes and GrouplessAPIPrefixes of the default RequestInfoFactory. */
const API_PREFIXES = new Set(['api', 'apis']);
const GROUPLESS_API_PREFIXES = new Set(['api']);
/** specialVerbs: verbs that appear as a path prefix (`/api/v1/watch/…`, `/api/v1/proxy/…`). */
const SPECIAL_VERBS = new Set(['proxy', 'watch']);
/** specialVerbsNoSubresources: for these the third part is not a subresource. */
const SPECIAL_VERBS_NO_SUBRESOURCES = new Set(['proxy']);
/** namespaceSubresources: `namespaces/NAME/status` is a subresource of the namespace itself. */
const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);
/** Pod subresources served by the connect handler (our `connect` verb). */
const CONNECT_SUBRESOURCES = new Set(['exec', 'attach', 'portforward']);

const METHOD_VERBS: Record<string, KubernetesRequest['verb']> = {
  POST: 'create',
  GET: 'get',
  HEAD: 'get',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** splitPath: trim surrounding slashes and split; "" → []. */
function splitPath(path: string): string[] {
  let start = 0;
  let end = path.length;
  while (start < end && path[start] === '/') start++;
  while (end > start && path[end - 1] === '/') end--;
  return start === end ? [] : path.slice(start, end).split('/');
}

/**
 * Classifies an (already normalised) request path. `query` is the raw query
 * string without the leading '?'.
 */
export function classifyKubernetes(method: string, path: string, query: string): KubernetesClassification {
  let parts = splitPath(path);
  if (parts.length < 3 || !API_PREFIXES.has(parts[0]!)) return { kind: 'non-resource' };
  const prefix = parts[0]!;
  parts = parts.slice(1);
  let apiGroup = '';
  if (!GROUPLESS_API_PREFIXES.has(prefix)) {
    // one part (the prefix) is consumed already: "do we have four parts?"
    if (parts.length < 3) return { kind: 'non-resource' };
    apiGroup = parts[0]!;
    parts = parts.slice(1);
    // `/apis/v1/…` would be read as group "v1": the API server answers 404 while a policy would see a made-up group.
    if (!isDnsSubdomain(apiGroup) || isApiVersion(apiGroup)) return { kind: 'non-canonical', reason: `"${apiGroup}" is not an API group name` };
  }
  const apiVersion = parts[0]!;
  parts = parts.slice(1);
  if (!isApiVersion(apiVersion)) return { kind: 'non-canonical', reason: `"${apiVersion}" is not an API version` };

  let verb: KubernetesRequest['verb'] | undefined;
  if (SPECIAL_VERBS.has(parts[0]!)) {
    if (parts.length < 2) return { kind: 'invalid', reason: 'unable to determine kind and namespace from url' };
    verb = parts[0] as 'proxy' | 'watch';
    parts = parts.slice(1);
  } else {
    verb = METHOD_VERBS[method.toUpperCase()];
    if (verb === undefined) return { kind: 'invalid', reason: `no Kubernetes verb for method ${method}` };
  }

  let namespace: string | undefined;
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      namespace = parts[1]!;
      // a further part that is not a namespace subresource is a resource in its own right
      if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2]!)) parts = parts.slice(2);
    }
  }

  // parts: resource/name/subresource/…
  let subresource: string | undefined;
  if (parts.length >= 3 && !SPECIAL_VERBS_NO_SUBRESOURCES.has(verb)) subresource = parts[2]!;
  let name = parts.length >= 2 ? parts[1]! : undefined;
  const resource = parts[0] ?? '';

  // Only the canonical spelling is judged: `SECRETS`, `secrets.` or `exec;x=y` are not what a policy
  // names, and an API server (or an aggregated one) might still serve them.
  const problem = spellingProblem({ namespace, resource, name, subresource, proxied: verb === 'proxy' || subresource === 'proxy', rest: parts.length - 3 });
  if (problem !== undefined) return { kind: 'non-canonical', reason: problem };

  // No name and a get: really a list or a watch.
  if (name === undefined && verb === 'get') {
    const params = new URLSearchParams(query);
    verb = isTrue(params.getAll('watch')) ? 'watch' : 'list';
    const byName = exactFieldMatch(params.get('fieldSelector'), 'metadata.name');
    if (byName !== undefined && isValidPathSegmentName(byName)) name = byName;
  }
  // No name and a delete: a delete of the whole collection.
  if (name === undefined && verb === 'delete') verb = 'deletecollection';

  if (subresource !== undefined && CONNECT_SUBRESOURCES.has(subresource) && resource === 'pods' && (verb === 'get' || verb === 'create')) {
    verb = 'connect';
  }

  const request: KubernetesRequest = { verb, apiGroup, apiVersion, resource };
  if (subresource !== undefined) request.subresource = subresource;
  if (namespace !== undefined) request.namespace = namespace;
  if (name !== undefined) request.name = name;
  return { kind: 'resource', request };
}

/** The API server's query → bool conversion (Convert_Slice_string_To_bool): only "0"/"false" are false. */
function isTrue(values: string[]): boolean {
  const first = values[0];
  if (first === undefined) return false;
  return !(first === '0' || first.toLowerCase() === 'false');
}

/**
 * fields.Selector.RequiresExactMatch for one field: a `field=value` or
 * `field==value` term of a comma-separated selector (k8s.io/apimachinery/pkg/fields).
 * Backslash escapes `\,` `\=` `\\` as in fields.UnescapeValue.
 */
function exactFieldMatch(selector: string | null, field: string): string | undefined {
  if (selector === null || selector === '') return undefined;
  for (const term of splitUnescaped(selector, ',')) {
    for (const op of ['==', '=']) {
      const at = indexUnescaped(term, op);
      if (at < 0) continue;
      if (term.slice(0, at).trim() !== field) break;
      if (term[at - 1] === '!') break; // `!=` never requires a match
      return unescapeFieldValue(term.slice(at + op.length));
    }
  }
  return undefined;
}

function splitUnescaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      cur += s[i]! + s[i + 1]!;
      i++;
    } else if (s[i] === sep) {
      out.push(cur);
      cur = '';
    } else cur += s[i]!;
  }
  out.push(cur);
  return out;
}

function indexUnescaped(s: string, needle: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      i++;
      continue;
    }
    if (s.startsWith(needle, i)) return i;
  }
  return -1;
}

function unescapeFieldValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] === '\\' && i + 1 < v.length) out += v[++i]!;
    else out += v[i]!;
  }
  return out;
}

/** path.IsValidPathSegmentName (k8s.io/apimachinery/pkg/api/validation/path). */
function isValidPathSegmentName(name: string): boolean {
  return name !== '.' && name !== '..' && !name.includes('/') && !name.includes('%');
}

/** Resource and subresource names are lower-case DNS labels (plural names such as `pods`, `deployments`). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** API groups are lower-case DNS subdomains (`apps`, `rbac.authorization.k8s.io`). */
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** `v1`, `v2beta1`, `v1alpha3`. */
const API_VERSION = /^v[1-9][0-9]*((alpha|beta)[1-9][0-9]*)?$/;

const isDnsSubdomain = (s: string): boolean => s.length <= 253 && DNS_SUBDOMAIN.test(s);
const isApiVersion = (s: string): boolean => API_VERSION.test(s);

/**
 * Why the parts of a resource path are not in their canonical spelling, or
 * undefined. Object names follow path.IsValidPathSegmentName plus a trailing
 * dot refused (no DNS name ends in one); names may carry `:` (RBAC
 * `system:…`, `pod:port` and `scheme:service:port` for proxies).
 */
function spellingProblem(p: { namespace?: string; resource: string; name?: string; subresource?: string; proxied: boolean; rest: number }): string | undefined {
  if (p.namespace !== undefined && !(p.namespace.length <= 63 && DNS_LABEL.test(p.namespace))) return `"${p.namespace}" is not a namespace name`;
  if (!DNS_LABEL.test(p.resource)) return `"${p.resource}" is not a resource name in canonical (lower-case) spelling`;
  if (p.subresource !== undefined && !DNS_LABEL.test(p.subresource)) return `"${p.subresource}" is not a subresource name in canonical (lower-case) spelling`;
  if (p.name !== undefined && (!isValidPathSegmentName(p.name) || p.name.endsWith('.'))) return `"${p.name}" is not an object name`;
  // Only a proxy carries a path of its own after resource/name/subresource.
  if (p.rest > 0 && !p.proxied) return 'a resource path has parts after the subresource';
  return undefined;
}
