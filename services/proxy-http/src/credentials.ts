import { readFileSync } from 'node:fs';
import type { CredentialRef, Injection, ProxiedResource } from './config.ts';
import { HttpProxyError } from './errors.ts';

/** Reads a credential at use time (files: rotation without restart). The value never leaves this module except as the header. */
export function readCredential(ref: CredentialRef, env: NodeJS.ProcessEnv = process.env): string {
  if ('env' in ref) {
    const value = env[ref.env];
    if (!value) throw new HttpProxyError('PCL_ERR_CREDENTIAL', `the upstream credential (environment variable ${ref.env}) is not set`);
    return value.trim();
  }
  try {
    return readFileSync(ref.file, 'utf8').trim();
  } catch {
    throw new HttpProxyError('PCL_ERR_CREDENTIAL', 'the upstream credential file cannot be read');
  }
}

/** The header(s) that carry the gateway-held credential upstream. */
export function credentialHeaders(resource: ProxiedResource, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const ref = resource.protocol === 'kubernetes' ? resource.token : resource.credential;
  if (!ref) return {};
  const inject: Injection = resource.protocol === 'kubernetes' ? 'bearer' : resource.inject;
  const secret = readCredential(ref, env);
  if (/[\r\n\0]/.test(secret)) throw new HttpProxyError('PCL_ERR_CREDENTIAL', 'the upstream credential contains a line break or NUL');
  if (inject === 'bearer') return { authorization: `Bearer ${secret}` };
  if (inject === 'basic') return { authorization: `Basic ${Buffer.from(secret, 'utf8').toString('base64')}` };
  return { [inject.header.toLowerCase()]: secret };
}

/** Header names that carry credentials: never copied into a command and never forwarded from the caller. */
export function credentialHeaderNames(resource: ProxiedResource): Set<string> {
  const names = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'portcullis-approval']);
  if (resource.protocol === 'http' && typeof resource.inject === 'object') names.add(resource.inject.header.toLowerCase());
  return names;
}

/**
 * Headers that assert an identity to a Kubernetes API server through its request-header (front
 * proxy) authentication: X-Remote-User, -Group, -Uid, -Extra-<key>. The API server believes them only
 * from a client holding the front-proxy certificate, which the gateway never presents; they are
 * dropped anyway, so no upstream configuration can turn them into someone else's identity.
 */
export function isForwardedIdentityHeader(resource: ProxiedResource, name: string): boolean {
  return resource.protocol === 'kubernetes' && name.startsWith('x-remote-');
}
