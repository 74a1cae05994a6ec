/**
 * Logins cached per issuer: <config dir>/logins/<sha256(issuer)>.json, the
 * directory 0700 and each file 0600 (written to a temporary file with that
 * mode, then renamed), so no other local user can read a refresh token.
 * A refresh rotates the refresh token and the provider revokes the whole
 * login when an old one is presented again, so concurrent refreshes (a
 * `connect` listener and kubectl's credential plugin at once) are serialised
 * with a lock file and re-read the cache once they hold it.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortcullisError } from '@portcullis/kit';
import { configDir } from './settings.ts';

export interface CachedLogin {
  issuer: string;
  clientId: string;
  accessToken: string;
  /** ISO time the access token was obtained and expires. */
  obtainedAt: string;
  expiresAt: string;
  refreshToken?: string;
}

const LOCK_STALE_MS = 30_000;

export const loginsDir = (env: NodeJS.ProcessEnv = process.env): string => join(configDir(env), 'logins');

export function loginFile(issuer: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(loginsDir(env), `${createHash('sha256').update(issuer).digest('hex').slice(0, 32)}.json`);
}

export async function readLogin(issuer: string, env: NodeJS.ProcessEnv = process.env): Promise<CachedLogin | undefined> {
  let text: string;
  try {
    text = await readFile(loginFile(issuer, env), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const login = JSON.parse(text) as CachedLogin;
    return login.issuer === issuer && typeof login.accessToken === 'string' ? login : undefined;
  } catch {
    // Never show the content: it holds tokens.
    throw new PortcullisError('PCL_ERR_CONFIG', `the cached login ${loginFile(issuer, env)} is not valid JSON; run portcullis logout, then portcullis login`);
  }
}

export async function writeLogin(login: CachedLogin, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = loginsDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const file = loginFile(login.issuer, env);
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(login, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}

export async function removeLogin(issuer: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const file = loginFile(issuer, env);
  const existed = (await readLogin(issuer, env).catch(() => true)) !== undefined;
  await rm(file, { force: true });
  return existed;
}

/** Runs `fn` while holding the issuer's refresh lock (across processes). */
export async function withLoginLock<T>(issuer: string, fn: () => Promise<T>, env: NodeJS.ProcessEnv = process.env): Promise<T> {
  const dir = loginsDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const lock = `${loginFile(issuer, env)}.lock`;
  const deadline = Date.now() + LOCK_STALE_MS + 5000;
  for (;;) {
    try {
      await writeFile(lock, `${process.pid} ${Date.now()}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [, since] = (await readFile(lock, 'utf8').catch(() => '')).trim().split(' ');
      // A holder that died mid-refresh leaves the lock behind; it is stale after 30 s.
      if (!since || Date.now() - Number(since) > LOCK_STALE_MS) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new PortcullisError('PCL_ERR_INTERNAL', `another portcullis process holds ${lock}`);
      await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}
