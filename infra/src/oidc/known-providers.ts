/**
 * Which data dir holds the client secrets of which issuer, for providers
 * started (or found running) by this process — so token helpers need only the
 * issuer, even when a test runs its provider from a temp dir.
 */
import { DEFAULT_OIDC_DATA_DIR } from './locations.ts';

const dataDirs = new Map<string, string>();

export function rememberDataDir(issuer: string, dataDir: string): void {
  dataDirs.set(issuer, dataDir);
}

/** The data dir for issuer: one this process started, else PORTCULLIS_OIDC_DATA_DIR, else infra/.data/oidc. */
export function dataDirFor(issuer: string): string {
  return dataDirs.get(issuer) ?? process.env['PORTCULLIS_OIDC_DATA_DIR'] ?? DEFAULT_OIDC_DATA_DIR;
}
