/** Where the local OpenID provider listens and keeps its state. */
import { join } from 'node:path';
import { dataDir } from '../paths.ts';

export const OIDC_HOST = '127.0.0.1';
export const DEFAULT_OIDC_PORT = 9400;

/** `oidc` under the stack's data dir (infra/.data, or PORTCULLIS_DATA_DIR), so every checkout pointed at one stack finds its clients. */
export const DEFAULT_OIDC_DATA_DIR = join(dataDir, 'oidc') + '/';

export function issuerFor(port: number): string {
  return `http://${OIDC_HOST}:${port}`;
}

/** Token helpers send client secrets, so they only talk to a provider on this machine. */
export function isLoopbackIssuer(issuer: string): boolean {
  const url = URL.parse(issuer);
  return url !== null && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
}
