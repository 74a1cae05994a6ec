import type { ProxiedResource } from './config.ts';

/**
 * Which resource a request is for:
 *   /r/<resource>/<upstream path>        path prefix (always)
 *   Host: <resource>.<baseDomain>        host routing (when baseDomain is set); the whole path goes upstream
 * `upstreamPath` is the raw path (still percent-encoded, as the caller sent it) after the prefix.
 */
export interface Route {
  resource: ProxiedResource;
  upstreamPath: string;
  query: string;
  /** The prefix the caller used, for rewriting Location headers. */
  prefix: string;
}

export type RouteResult = { ok: true; route: Route } | { ok: false; status: 404 | 400; message: string };

export function routeRequest(rawUrl: string, host: string | undefined, resources: ReadonlyMap<string, ProxiedResource>, baseDomain?: string): RouteResult {
  if (!rawUrl.startsWith('/')) return { ok: false, status: 400, message: 'the request target must be an absolute path' };
  const q = rawUrl.indexOf('?');
  const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = q < 0 ? '' : rawUrl.slice(q + 1);
  const hostName = (host ?? '').toLowerCase().replace(/:\d+$/, '');
  if (baseDomain && hostName.endsWith(`.${baseDomain.toLowerCase()}`)) {
    const name = hostName.slice(0, -(baseDomain.length + 1));
    const resource = resources.get(name);
    if (!resource) return { ok: false, status: 404, message: `no resource ${JSON.stringify(name)} behind this gateway` };
    return { ok: true, route: { resource, upstreamPath: path, query, prefix: '' } };
  }
  const m = /^\/r\/([^/?#]+)(\/.*)?$/.exec(path);
  if (!m) return { ok: false, status: 404, message: 'route requests as /r/<resource>/<path>' };
  const name = m[1]!;
  const resource = resources.get(name);
  if (!resource) return { ok: false, status: 404, message: `no resource ${JSON.stringify(name)} behind this gateway` };
  return { ok: true, route: { resource, upstreamPath: m[2] ?? '/', query, prefix: `/r/${name}` } };
}

/** Joins the resource's base URL (which may carry a path) and the upstream path. */
export function upstreamUrl(resource: ProxiedResource, upstreamPath: string, query: string): URL {
  const base = new URL(resource.protocol === 'kubernetes' ? resource.server : resource.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const url = new URL(base.origin);
  url.pathname = basePath + upstreamPath;
  url.search = query ? `?${query}` : '';
  return url;
}
