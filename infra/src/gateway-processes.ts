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
/** The `npm start` process itself: its SIGTERM handler stops its children. */
export const START_PROCESS_NAME = 'npm-start';
const START_PROCESS = `${PREFIX}${START_PROCESS_NAME}`;

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

/** npm start first (it stops its children and says nothing of their exits), then whatever is left. */
export async function stopGatewayProcesses(): Promise<string> {
  const first = await stopByPidFile(START_PROCESS, 10_000);
  const rest = await Promise.all(recordedNames().map((n) => stopByPidFile(n, 10_000)));
  const stopped = [first, ...rest].filter((s) => s === 'stopped').length;
  return stopped === 0 ? 'not running' : 'stopped';
}

export function forgetGatewayProcesses(): void {
  for (const n of recordedNames()) rmSync(pidFile(n), { force: true });
}
