import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { secretsDir } from '../paths.ts';

/**
 * A credential of a demo target (database password, API token, cluster
 * token), generated at first start into infra/.data/secrets/NAME (0600) and
 * reused afterwards. portcullis.yaml names the file; callers never see it.
 */
export function demoSecret(name: string): { file: string; value: string } {
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  const file = demoSecretFile(name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  return { file, value: readFileSync(file, 'utf8').trim() };
}

export const demoSecretFile = (name: string): string => join(secretsDir, name);

/** The demo targets' credential files, by target. */
export const DEMO_SECRETS = { database: 'demo-target.password', api: 'demo-api.token', cluster: 'demo-cluster.token' } as const;
