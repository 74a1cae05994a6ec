import { spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { logDir, runDir } from './paths.ts';

/** Pid files name exactly the processes `infra:up` started, so `infra:down` stops only those. */
export const pidFile = (name: string): string => join(runDir, `${name}.pid`);
export const logFile = (name: string): string => join(logDir, `${name}.log`);

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runningPid(name: string): number | undefined {
  if (!existsSync(pidFile(name))) return undefined;
  const pid = Number(readFileSync(pidFile(name), 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Starts a long-running process detached from this one, output to infra/.data/logs/NAME.log. */
export function startDetached(name: string, command: string, args: string[], options: SpawnOptions = {}): number {
  mkdirSync(runDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  const out = openSync(logFile(name), 'a');
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', out, out] });
  if (child.pid === undefined) throw new Error(`could not start ${name}: ${command}`);
  child.unref();
  writeFileSync(pidFile(name), `${child.pid}\n`);
  return child.pid;
}

export async function stopByPidFile(name: string, graceMs = 15_000, signal: NodeJS.Signals = 'SIGTERM'): Promise<'stopped' | 'not running'> {
  const pid = runningPid(name);
  rmSync(pidFile(name), { force: true });
  if (pid === undefined) return 'not running';
  const signalGroup = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signalGroup(signal);
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(200);
  if (isAlive(pid)) signalGroup('SIGKILL');
  return 'stopped';
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls `check` until it returns true or the deadline passes; the error names what was awaited. */
export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, logName?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(300);
  }
  const hint = logName ? ` (see ${logFile(logName)})` : '';
  throw new Error(`${what} did not become ready within ${Math.round(timeoutMs / 1000)} s${hint}`);
}

export function which(program: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v "${program}"`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export function requireProgram(program: string, hint: string): string {
  const path = which(program);
  if (!path) throw new Error(`${program} is required but not installed: ${hint}`);
  return path;
}

/** Runs a command to completion; throws with its output on failure. */
export function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const r = spawnSync(command, args, { encoding: 'utf8', ...options, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${command} ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${output}`);
  }
  return r.stdout;
}
