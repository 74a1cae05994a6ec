import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (infra/src/ → ../..). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Downloads (Maven artifacts, the registry's distribution): reused across starts. */
export const cacheDir = process.env.PORTCULLIS_CACHE_DIR ?? join(repoRoot, 'infra', '.cache');
/** Data of the running stack: Kafka log dirs, the PostgreSQL cluster, generated secrets, pid files, logs. */
export const dataDir = process.env.PORTCULLIS_DATA_DIR ?? join(repoRoot, 'infra', '.data');
export const runDir = join(dataDir, 'run');
export const logDir = join(dataDir, 'logs');
export const secretsDir = join(dataDir, 'secrets');
