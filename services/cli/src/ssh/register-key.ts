/**
 * Registers the CLI's public key for the caller's identity at the SSH proxy's
 * key API (POST /keys with the access token), so the gateway knows whose key
 * it is and with which groups. Done at every connection: the registration is
 * renewed with the current token's identity.
 */
import { PortcullisError } from '@portcullis/kit';
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
