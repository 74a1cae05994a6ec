/**
 * Classes of HTTP / Kubernetes requests that reach further than the verb
 * says: a `get` on `nodes/x/proxy/…` runs whatever the kubelet serves, a
 * `create` of a TokenReview or an Impersonate-User header changes who the
 * caller is. A request with any class is admitted only by a rule that names
 * every one of its classes (match.http.classes), so a rule written for reads
 * (verbs get/list/watch, methods GET) never lets them through.
 */
import type { KubernetesRequest } from './kubernetes.ts';

export const HTTP_CLASSES = [
  /** `*\/proxy` subresources (nodes, pods incl. `pod:port`, services incl. `scheme:name:port`) and the legacy `/proxy/` paths. */
  'proxy',
  /** `*\/exec`, `*\/attach`, `*\/portforward`: a process or a socket inside a container. */
  'exec',
  'attach',
  'portforward',
  /** `serviceaccounts/token`: mints a token for a service account. */
  'serviceaccount-token',
  /** `pods/eviction`. */
  'eviction',
  /** `pods/ephemeralcontainers`: adds a container to a running pod. */
  'ephemeral-containers',
  /** `certificatesigningrequests/approval`: issues certificates. */
  'csr-approval',
  /** tokenreviews, subjectaccessreviews and every other `*reviews` resource. */
  'review',
  /** Writes of roles / clusterroles (the RBAC `escalate` verb guards them). */
  'escalate',
  /** Writes of rolebindings / clusterrolebindings (the RBAC `bind` verb guards them). */
  'bind',
  /** Any `Impersonate-*` request header (the RBAC `impersonate` verb). */
  'impersonate',
] as const;
export type HttpClass = (typeof HTTP_CLASSES)[number];

const WRITE_VERBS = new Set(['create', 'update', 'patch']);
const STREAM_SUBRESOURCES: Record<string, HttpClass> = { exec: 'exec', attach: 'attach', portforward: 'portforward' };

/** The classes of one request; `headers` has lower-case names. */
export function httpClasses(k: KubernetesRequest | undefined, headers: Readonly<Record<string, string>>): HttpClass[] {
  const classes = new Set<HttpClass>();
  if (Object.keys(headers).some((name) => name.startsWith('impersonate-'))) classes.add('impersonate');
  if (k === undefined) return [...classes];
  const sub = k.subresource;
  if (k.verb === 'proxy' || sub === 'proxy') classes.add('proxy');
  if (sub !== undefined && STREAM_SUBRESOURCES[sub]) classes.add(STREAM_SUBRESOURCES[sub]);
  if (k.resource === 'serviceaccounts' && sub === 'token') classes.add('serviceaccount-token');
  if (sub === 'eviction') classes.add('eviction');
  if (sub === 'ephemeralcontainers') classes.add('ephemeral-containers');
  if (k.resource === 'certificatesigningrequests' && sub === 'approval') classes.add('csr-approval');
  if (k.resource.endsWith('reviews')) classes.add('review');
  // Group-agnostic on purpose: a look-alike in another group is judged as strictly.
  if ((k.resource === 'roles' || k.resource === 'clusterroles') && WRITE_VERBS.has(k.verb)) classes.add('escalate');
  if ((k.resource === 'rolebindings' || k.resource === 'clusterrolebindings') && WRITE_VERBS.has(k.verb)) classes.add('bind');
  return [...classes];
}
