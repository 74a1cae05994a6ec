/** Where the local OpenID provider listens and keeps its state. */
import { fileURLToPath } from 'node:url';

export const OIDC_HOST = '127.0.0.1';
export const DEFAULT_OIDC_PORT = 9400;

/** infra/.data/oidc, resolved from this file so it works from any working directory. */
export const DEFAULT_OIDC_DATA_DIR = fileURLToPath(new URL('../../.data/oidc/', import.meta.url));

export function issuerFor(port: number): string {
  return `http://${OIDC_HOST}:${port}`;
}

/** Token helpers send client secrets, so they only talk to a provider on this machine. */
export function isLoopbackIssuer(issuer: string): boolean {
  const url = URL.parse(issuer);
  return url !== null && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}
