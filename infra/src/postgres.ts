import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { dataDir, secretsDir } from './paths.ts';
import { HOST, POSTGRES_PORT } from './ports.ts';
import { logFile, run, runningPid, startDetached, stopByPidFile, waitUntil, which } from './processes.ts';

/**
 * A PostgreSQL cluster of Portcullis's own (Debian's server binaries), on
 * 127.0.0.1:55432 so it never collides with a system server. It holds the
 * projections' database, the schema registry's storage and a demo target.
 */
export const PG_NAME = 'postgres';
export const pgDataDir = join(dataDir, 'postgres');
export const DATABASES = ['portcullis', 'apicurio', 'demo'] as const;

export interface PostgresConnection {
  host: string;
  port: number;
  user: string;
  password: string;
}

const secretFile = join(secretsDir, 'postgres.json');

/** Admin connection of the local cluster (the password is generated at first start, kept in infra/.data/secrets). */
export function postgresConnection(): PostgresConnection {
  if (process.env.PORTCULLIS_PG_URL) {
    const url = new URL(process.env.PORTCULLIS_PG_URL);
    return { host: url.hostname, port: Number(url.port || 5432), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) };
  }
  if (!existsSync(secretFile)) throw new Error('the local PostgreSQL cluster has not been created yet: run `npm run infra:up`');
  return JSON.parse(readFileSync(secretFile, 'utf8')) as PostgresConnection;
}

export function postgresUrl(database: string): string {
  const c = postgresConnection();
  return `postgres://${encodeURIComponent(c.user)}:${encodeURIComponent(c.password)}@${c.host}:${c.port}/${database}`;
}

function serverBinDir(): string | undefined {
  const fromConfig = which('pg_config') ? spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' }).stdout.trim() : '';
  if (fromConfig && existsSync(join(fromConfig, 'postgres'))) return fromConfig;
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const onPath = which('postgres');
  return onPath ? join(onPath, '..') : undefined;
}

function ensureServerInstalled(): string {
  let bin = serverBinDir();
  if (bin) return bin;
  if (process.getuid?.() === 0 && which('apt-get')) {
    console.log('postgres   installing Debian package postgresql (apt-get) …');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'postgresql', 'postgresql-client'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    bin = serverBinDir();
    if (bin) return bin;
  }
  throw new Error('PostgreSQL server binaries not found: install them with `apt-get install postgresql` (Debian) or set PORTCULLIS_PG_URL to an existing server');
}

/** PostgreSQL refuses to run as root; as root we run it as the `postgres` system user. */
function asClusterOwner(command: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [command, args];
  return ['runuser', ['-u', 'postgres', '--', command, ...args]];
}

function ensureOwnerCanReach(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const r = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-w', dir]);
  if (r.status !== 0) {
    throw new Error(
      `the postgres system user cannot write ${dir}: every parent folder must be searchable by others (chmod o+x), or set PORTCULLIS_DATA_DIR to a folder it can reach`,
    );
  }
}

function initCluster(bin: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  mkdirSync(pgDataDir, { recursive: true, mode: 0o700 });
  const connection: PostgresConnection = { host: HOST, port: POSTGRES_PORT, user: 'portcullis_admin', password: randomBytes(18).toString('base64url') };
  const pwFile = join(pgDataDir, '..', 'postgres.pwfile');
  writeFileSync(pwFile, connection.password, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(pgDataDir, uid, gid);
    chownSync(pwFile, uid, gid);
    ensureOwnerCanReach(pgDataDir);
  }
  const [cmd, args] = asClusterOwner(join(bin, 'initdb'), [
    '-D', pgDataDir, '-U', connection.user, '--auth=scram-sha-256', `--pwfile=${pwFile}`, '--encoding=UTF8', '--locale=C.UTF-8',
  ]);
  try {
    run(cmd, args);
  } finally {
    spawnSync('rm', ['-f', pwFile]);
  }
  writeFileSync(secretFile, JSON.stringify(connection, null, 2), { mode: 0o600 });
}

async function isReady(bin: string): Promise<boolean> {
  const r = spawnSync(join(bin, 'pg_isready'), ['-h', HOST, '-p', String(POSTGRES_PORT), '-t', '1'], { encoding: 'utf8' });
  return r.status === 0;
}

function psql(database: string, sql: string): string {
  const c = postgresConnection();
  return run('psql', ['-h', c.host, '-p', String(c.port), '-U', c.user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], {
    env: { ...process.env, PGPASSWORD: c.password },
  });
}

export async function startPostgres(): Promise<string> {
  const bin = ensureServerInstalled();
  if (process.env.PORTCULLIS_PG_URL) return `external ${HOST}`;
  if (!existsSync(join(pgDataDir, 'PG_VERSION'))) initCluster(bin);
  if (!runningPid(PG_NAME) || !(await isReady(bin))) {
    const [cmd, args] = asClusterOwner(join(bin, 'postgres'), [
      '-D', pgDataDir,
      '-c', `port=${POSTGRES_PORT}`,
      '-c', `listen_addresses=${HOST}`,
      '-c', 'unix_socket_directories=',
      '-c', 'max_connections=200',
      '-c', 'shared_buffers=128MB',
      '-c', 'fsync=on',
    ]);
    startDetached(PG_NAME, cmd, args);
    await waitUntil('PostgreSQL', () => isReady(bin), 60_000, PG_NAME);
  }
  for (const db of DATABASES) {
    const exists = psql('postgres', `SELECT 1 FROM pg_database WHERE datname = '${db}'`).trim() === '1';
    if (!exists) psql('postgres', `CREATE DATABASE ${db}`);
  }
  return `${HOST}:${POSTGRES_PORT} databases ${DATABASES.join(', ')}`;
}

export async function postgresStatus(): Promise<string | undefined> {
  const bin = serverBinDir();
  if (!bin || !runningPid(PG_NAME)) return undefined;
  return (await isReady(bin)) ? `${HOST}:${POSTGRES_PORT}` : undefined;
}

export const stopPostgres = (): Promise<string> => stopByPidFile(PG_NAME, 30_000, 'SIGINT') // fast shutdown: SIGTERM would wait for clients;
export const postgresLog = (): string => logFile(PG_NAME);
