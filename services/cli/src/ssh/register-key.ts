/**
 * Registers the CLI's public key for the caller's identity at the SSH proxy's
 * key API (POST /keys with the access token), so the gateway knows whose key
 * it is and with which groups. Done at every connection: the registration is
 * renewed with the current token's identity.
 */
import { PortcullisError } from '@portcullis/kit';
import { fingerprintOf } from '@portcullis/proxy-ssh';
import { isSafeEndpoint } from '../auth/discovery.ts';

export async function registerSshKey(keysUrl: string, accessToken: string, publicKey: string): Promise<void> {
  const base = keysUrl.replace(/\/$/, '');
  // The token travels with the request: https, or http on this machine only.
  if (!isSafeEndpoint(base)) throw new PortcullisError('PCL_ERR_CONFIG', `the SSH key API ${base} is not https: the access token is only sent over TLS (or on loopback)`);
  let res: Response;
  try {
    res = await fetch(`${base}/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'text/plain' },
      body: publicKey,
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `cannot reach the SSH gateway's key API at ${base}: ${(err as Error).message}`, { cause: err });
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string };
    const code = res.status === 401 ? 'PCL_ERR_UNAUTHENTICATED' : 'PCL_ERR_GATEWAY_UNREACHABLE';
    throw new PortcullisError(code, `the SSH gateway refused the key (HTTP ${res.status}): ${(body.error ?? '').slice(0, 300)}`);
  }
}

/**
 * Withdraws the key's registration (DELETE /keys/<fingerprint>), so the key
 * left in the config dir no longer logs anyone in once its owner logs out.
 * Answers whether the gateway had it.
 */
export async function withdrawSshKey(keysUrl: string, accessToken: string, publicKey: string): Promise<boolean> {
  const base = keysUrl.replace(/\/$/, '');
  if (!isSafeEndpoint(base)) throw new PortcullisError('PCL_ERR_CONFIG', `the SSH key API ${base} is not https: the access token is only sent over TLS (or on loopback)`);
  const blob = Buffer.from(publicKey.split(/\s+/)[1] ?? '', 'base64');
  let res: Response;
  try {
    res = await fetch(`${base}/keys/${encodeURIComponent(fingerprintOf(blob))}`, { method: 'DELETE', headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `cannot reach the SSH gateway's key API at ${base}: ${(err as Error).message}`, { cause: err });
  }
  if (res.status === 404) return false;
  if (!res.ok) throw new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `the SSH gateway did not withdraw the key (HTTP ${res.status})`);
  return true;
}
