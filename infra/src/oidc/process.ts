/**
 * Starts and stops the local OpenID provider (server.ts) as a child process.
 *
 * The process is detached so `npm run infra:up` can exit while it keeps
 * running; its pid, issuer and log live in the data dir:
 *
 *   oidc-provider.pid   the server's pid
 *   oidc-provider.json  { pid, port, issuer, devLogin }
 *   oidc-provider.log   its stdout/stderr (never secrets)
 *   oidc-provider.lock  held while one process starts it
 *
 * Starting is idempotent: a live provider recorded in the data dir is reused.
 */
import { spawn } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_OIDC_DATA_DIR, DEFAULT_OIDC_PORT, issuerFor } from './locations.ts';
import { rememberDataDir } from './known-providers.ts';

export interface StartOidcProviderOptions {
  /** Loopback port; default 9400. */
  port?: number;
  /** Keys, client secrets, pid and log; default infra/.data/oidc. */
  dataDir?: string;
  /** The dev-login grant for test people; default on (this provider is for development only). */
  devLogin?: boolean;
  /** How long to wait for discovery to answer; default 30 s. */
  startTimeoutMs?: number;
  /** Lifetime of access tokens from browser/device logins and refreshes (server.ts --access-token-ttl). */
  accessTokenTtlSeconds?: number;
  /** Lifetime of the CLI's refresh tokens (server.ts --refresh-token-ttl). */
  refreshTokenTtlSeconds?: number;
}

export interface OidcProviderHandle {
  issuer: string;
  pid: number;
  dataDir: string;
  /** Stops the provider process (whether this call started it or found it running). */
  stop(): Promise<void>;
}

export interface OidcProviderStatus {
  running: boolean;
  pid?: number;
  issuer?: string;
}

interface RunInfo {
  pid: number;
  port: number;
  issuer: string;
  devLogin: boolean;
}

const PID_FILE = 'oidc-provider.pid';
const RUN_FILE = 'oidc-provider.json';
const LOCK_FILE = 'oidc-provider.lock';
export const OIDC_LOG_FILE = 'oidc-provider.log';

const SERVER_SCRIPT = fileURLToPath(new URL('./server.ts', import.meta.url));

export async function startOidcProvider(options: StartOidcProviderOptions = {}): Promise<OidcProviderHandle> {
  const port = options.port ?? DEFAULT_OIDC_PORT;
  const dataDir = options.dataDir ?? DEFAULT_OIDC_DATA_DIR;
  const devLogin = options.devLogin ?? true;
  const timeoutMs = options.startTimeoutMs ?? 30_000;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const lifetimes = [
    ...(options.accessTokenTtlSeconds ? ['--access-token-ttl', String(options.accessTokenTtlSeconds)] : []),
    ...(options.refreshTokenTtlSeconds ? ['--refresh-token-ttl', String(options.refreshTokenTtlSeconds)] : []),
  ];
  return withStartLock(dataDir, timeoutMs, () => startLocked(port, dataDir, devLogin, timeoutMs, lifetimes));
}

async function startLocked(port: number, dataDir: string, devLogin: boolean, timeoutMs: number, lifetimes: string[]): Promise<OidcProviderHandle> {
  const running = await readLiveRunInfo(dataDir);
  if (running) {
    if (running.port !== port || running.devLogin !== devLogin) {
      throw new Error(
        `an OIDC provider for ${dataDir} already runs at ${running.issuer} (pid ${running.pid}, dev login ${running.devLogin ? 'on' : 'off'}); ` +
          'stop it first (npm run infra:down) or start it with the same settings',
      );
    }
    await waitForDiscovery(running.issuer, timeoutMs, () => isAlive(running.pid), dataDir);
    return handle(running, dataDir);
  }

  const issuer = issuerFor(port);
  const log = await open(join(dataDir, OIDC_LOG_FILE), 'a', 0o600);
  const logStart = (await log.stat()).size;
  let child;
  try {
    const args = ['--import', import.meta.resolve('tsx'), SERVER_SCRIPT, '--port', String(port), '--data-dir', dataDir];
    if (!devLogin) args.push('--no-dev-login');
    args.push(...lifetimes);
    child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log.fd, log.fd] });
  } finally {
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the OIDC provider process');

  let exitCode: number | null = null;
  child.once('exit', (code) => {
    exitCode = code ?? 1;
  });
  child.unref();

  const info: RunInfo = { pid, port, issuer, devLogin };
  await writeFile(join(dataDir, PID_FILE), `${pid}\n`);
  await writeFile(join(dataDir, RUN_FILE), `${JSON.stringify(info)}\n`);

  try {
    await waitForDiscovery(issuer, timeoutMs, () => exitCode === null, dataDir, logStart);
  } catch (err) {
    await stopPid(pid);
    await removeRunFiles(dataDir);
    throw err;
  }
  return handle(info, dataDir);
}

/**
 * Serialises start-ups on one data dir (parallel test files, infra:up twice),
 * so only one server is spawned and the pid file names it.
 */
async function withStartLock<T>(dataDir: string, timeoutMs: number, start: () => Promise<T>): Promise<T> {
  const lockFile = join(dataDir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs + 5000;
  for (;;) {
    try {
      await writeFile(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number((await readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        await rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`another process (pid ${holder}) is starting the OIDC provider for ${dataDir}`);
      await sleep(100);
    }
  }
  try {
    return await start();
  } finally {
    await rm(lockFile, { force: true });
  }
}

/** Stops the provider recorded in dataDir, if any. Returns whether one was running. */
export async function stopOidcProvider(options: { dataDir?: string } = {}): Promise<boolean> {
  const dataDir = options.dataDir ?? DEFAULT_OIDC_DATA_DIR;
  const running = await readLiveRunInfo(dataDir);
  if (running) await stopPid(running.pid);
  await removeRunFiles(dataDir);
  return running !== undefined;
}

export async function oidcProviderStatus(options: { dataDir?: string } = {}): Promise<OidcProviderStatus> {
  const running = await readLiveRunInfo(options.dataDir ?? DEFAULT_OIDC_DATA_DIR);
  return running ? { running: true, pid: running.pid, issuer: running.issuer } : { running: false };
}

function handle(info: RunInfo, dataDir: string): OidcProviderHandle {
  rememberDataDir(info.issuer, dataDir);
  return {
    issuer: info.issuer,
    pid: info.pid,
    dataDir,
    async stop() {
      await stopPid(info.pid);
      await removeRunFiles(dataDir);
    },
  };
}

/** The run info of a provider whose recorded pid is alive and really is our server. */
async function readLiveRunInfo(dataDir: string): Promise<RunInfo | undefined> {
  let pidText: string;
  let info: RunInfo;
  try {
    pidText = await readFile(join(dataDir, PID_FILE), 'utf8');
    info = JSON.parse(await readFile(join(dataDir, RUN_FILE), 'utf8')) as RunInfo;
  } catch {
    return undefined;
  }
  const pid = Number(pidText.trim());
  if (!Number.isInteger(pid) || pid !== info.pid || !isAlive(pid) || !(await isOurServer(pid, dataDir))) {
    await removeRunFiles(dataDir);
    return undefined;
  }
  return info;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Guards against a stale pid file whose pid now belongs to another program (Linux only). */
/**
 * Whether the pid runs this provider's server for this data dir. Another
 * checkout of the repository sharing the data dir (a git worktree whose
 * infra/.data links to the running stack's) counts: same server, same keys.
 */
async function isOurServer(pid: number, dataDir: string): Promise<boolean> {
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return true;
  const args = (await readFile(cmdline, 'utf8').catch(() => '')).split('\0');
  if (args.includes(SERVER_SCRIPT)) return true;
  const serverArg = args.findIndex((a) => a.endsWith(SERVER_SCRIPT_IN_REPO));
  const dirArg = args.indexOf('--data-dir');
  return serverArg >= 0 && dirArg > serverArg && sameDirectory(args[dirArg + 1], dataDir);
}

const SERVER_SCRIPT_IN_REPO = join('infra', 'src', 'oidc', 'server.ts');

function sameDirectory(a: string | undefined, b: string): boolean {
  try {
    return a !== undefined && realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

async function waitForDiscovery(
  issuer: string,
  timeoutMs: number,
  stillRunning: () => boolean,
  dataDir: string,
  logStart?: number,
): Promise<void> {
  const url = `${issuer}/.well-known/openid-configuration`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!stillRunning()) {
      throw new Error(`the OIDC provider exited during start-up: ${await lastLogLine(dataDir, logStart ?? 0)} (log: ${join(dataDir, OIDC_LOG_FILE)})`);
    }
    try {
      // A freshly spawned server must also say it is ready, so another process
      // already answering on the port is not mistaken for ours.
      const ready = logStart === undefined || (await logSince(dataDir, logStart)).includes(`issuer ${issuer} ready`);
      const res = ready ? await fetch(url, { signal: AbortSignal.timeout(1000) }) : undefined;
      if (res?.ok && ((await res.json()) as { issuer?: string }).issuer === issuer) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`the OIDC provider did not answer at ${url} within ${timeoutMs} ms (log: ${join(dataDir, OIDC_LOG_FILE)})`);
}

async function logSince(dataDir: string, from: number): Promise<string> {
  return (await readFile(join(dataDir, OIDC_LOG_FILE)).catch(() => Buffer.alloc(0))).subarray(from).toString('utf8');
}

async function lastLogLine(dataDir: string, from: number): Promise<string> {
  const text = await logSince(dataDir, from);
  const lines = text.trim().split('\n').filter((l) => l.startsWith('oidc-provider:'));
  return lines.at(-1) ?? 'no output';
}

async function stopPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let waited = 0; waited < 5000; waited += 50) {
    if (!isAlive(pid)) return;
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function removeRunFiles(dataDir: string): Promise<void> {
  await rm(join(dataDir, PID_FILE), { force: true });
  await rm(join(dataDir, RUN_FILE), { force: true });
}
