import { readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { pidFile, runningPid, stopByPidFile } from './processes.ts';
import { runDir } from './paths.ts';

/**
 * The processes `npm start` runs on top of the stack (the gateway's services
 * and the demo targets) are its children: Ctrl-C stops them with it. Their
 * pid files (infra/.data/run/gateway-NAME.pid) let `npm run infra:down` stop
 * them too when `npm start` is gone, and keep a second `npm start` from
 * starting a second gateway on the same ports.
 */
const PREFIX = 'gateway-';

export function recordGatewayProcess(name: string, pid: number): void {
  mkdirSync(runDir, { recursive: true });
  writeFileSync(pidFile(`${PREFIX}${name}`), `${pid}\n`);
}

function recordedNames(): string[] {
  try {
    return readdirSync(runDir).filter((f) => f.startsWith(PREFIX) && f.endsWith('.pid')).map((f) => f.slice(0, -'.pid'.length));
  } catch {
    return [];
  }
}

/** The recorded gateway processes still alive, as `name (pid)`. */
export function runningGatewayProcesses(): string[] {
  return recordedNames().flatMap((n) => {
    const pid = runningPid(n);
    return pid === undefined ? [] : [`${n.slice(PREFIX.length)} (${pid})`];
  });
}

export async function stopGatewayProcesses(): Promise<string> {
  const names = recordedNames();
  const stopped = (await Promise.all(names.map((n) => stopByPidFile(n, 10_000)))).filter((s) => s === 'stopped').length;
  return stopped === 0 ? 'not running' : `stopped ${stopped} processes`;
}

export function forgetGatewayProcesses(): void {
  for (const n of recordedNames()) rmSync(pidFile(n), { force: true });
}
