/**
 * The gateway's services as processes: where each one's built JavaScript is
 * (its package.json "main", written by `npm run build`), where its TypeScript
 * entry is (run through tsx in development), and how to learn that a started
 * one is ready (its admin server's /readyz). `npm start`, the start-time
 * benchmark, the built-services test and the docker-compose test share it.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminService } from '@portcullis/kit';
import { repoRoot } from './paths.ts';

export interface GatewayService {
  name: AdminService;
  /** The workspace folder, relative to the repository root. */
  workspace: string;
}

export const GATEWAY_SERVICES: readonly GatewayService[] = [
  { name: 'policy-decision', workspace: 'services/policy-decision' },
  { name: 'proxy-postgres', workspace: 'services/proxy-postgres' },
  { name: 'proxy-ssh', workspace: 'services/proxy-ssh' },
  { name: 'proxy-http', workspace: 'services/proxy-http' },
  { name: 'approvals', workspace: 'services/approvals' },
  { name: 'audit-projection', workspace: 'services/audit-projection' },
  { name: 'replay-projection', workspace: 'services/replay-projection' },
  { name: 'console', workspace: 'services/console' },
  { name: 'mcp', workspace: 'services/mcp' },
];

export function gatewayService(name: AdminService): GatewayService {
  const s = GATEWAY_SERVICES.find((g) => g.name === name);
  if (!s) throw new Error(`no gateway service ${name}`);
  return s;
}

/** The package.json "main": the built entry, relative to the workspace (dist/main.js). */
export function mainOf(service: GatewayService): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot, service.workspace, 'package.json'), 'utf8')) as { main?: string };
  if (!pkg.main) throw new Error(`${service.workspace}/package.json has no "main"`);
  return pkg.main;
}

/** Absolute path of the built entry (run with plain node). */
export const builtEntry = (service: GatewayService): string => join(repoRoot, service.workspace, mainOf(service));

/** Absolute path of the TypeScript entry the build compiles (run with tsx in development). */
export const sourceEntry = (service: GatewayService): string =>
  join(repoRoot, service.workspace, mainOf(service).replace(/^dist\//, 'src/').replace(/\.js$/, '.ts'));

export type Runtime = 'node' | 'tsx';

/** node's arguments that run the service: its build output with plain node, or its sources through tsx. */
export function serviceArgs(service: GatewayService, runtime: Runtime): string[] {
  if (runtime === 'tsx') return ['--import', 'tsx', sourceEntry(service)];
  const entry = builtEntry(service);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`);
  return [entry];
}

export function spawnService(service: GatewayService, runtime: Runtime, options: SpawnOptions = {}): ChildProcess {
  return spawn(process.execPath, serviceArgs(service, runtime), { cwd: repoRoot, ...options });
}

/**
 * The admin port a started service logged (its JSON log line "admin server
 * listening"): with PORTCULLIS_ADMIN_PORT=0 the port is the kernel's choice.
 * Reads the child's stdout (spawned with stdout 'pipe').
 */
export function adminPortOf(child: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no admin server within ${timeoutMs} ms:\n${buffered.slice(-2000)}`)), timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before its admin server listened:\n${buffered.slice(-2000)}`));
    };
    child.once('exit', onExit);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg?.startsWith('admin server listening') && typeof entry.port === 'number') {
            clearTimeout(timer);
            child.off('exit', onExit);
            resolve(entry.port);
            return;
          }
        } catch {
          // a line still being written
        }
      }
    });
  });
}

/** Polls /readyz until it answers 200; rejects with the last answer after `timeoutMs`. */
export async function waitReady(adminUrl: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const res = await fetch(`${adminUrl}/readyz`, { signal: AbortSignal.timeout(5000) });
      last = `${res.status} ${await res.text()}`;
      if (res.status === 200) return;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
