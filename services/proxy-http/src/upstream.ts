import { readFileSync } from 'node:fs';
import { Agent } from 'undici';
import type { ProxiedResource } from './config.ts';

/** One undici Agent per resource, carrying the resource's TLS trust. */
export function createAgent(resource: ProxiedResource): Agent {
  const caFile = resource.protocol === 'kubernetes' ? (resource.ca ?? resource.tls.ca) : resource.tls.ca;
  return new Agent({
    connect: { rejectUnauthorized: resource.tls.verify, ...(caFile ? { ca: readFileSync(caFile) } : {}) },
    // Watches and followed logs stay open as long as the upstream sends.
    bodyTimeout: 0,
    headersTimeout: 60_000,
  });
}

export function tlsOptions(resource: ProxiedResource): { rejectUnauthorized: boolean; ca?: Buffer } {
  const caFile = resource.protocol === 'kubernetes' ? (resource.ca ?? resource.tls.ca) : resource.tls.ca;
  return { rejectUnauthorized: resource.tls.verify, ...(caFile ? { ca: readFileSync(caFile) } : {}) };
}

/** RFC 9110 7.6.1 hop-by-hop fields, plus those the proxy owns. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'host', 'content-length', 'expect', 'http2-settings']);

export function isHopByHop(name: string, connectionHeader: string | string[] | undefined): boolean {
  if (HOP_BY_HOP.has(name)) return true;
  const listed = [connectionHeader ?? []].flat().join(',').toLowerCase().split(',').map((s) => s.trim());
  return listed.includes(name);
}
