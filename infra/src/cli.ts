/**
 * npm run infra:up | infra:down | infra:status
 *
 * Starts the real components as local processes (no Docker engine needed),
 * waits until each answers, and prints one status line each. Idempotent: a
 * component that already answers is left alone. `down` stops exactly the
 * processes `up` started (by their pid files under infra/.data/run), and
 * first the gateway and demo targets `npm start` runs, if still running.
 */
import { components } from './stack.ts';
import { runningGatewayProcesses, stopGatewayProcesses } from './gateway-processes.ts';

const pad = (s: string): string => s.padEnd(10);

async function up(): Promise<number> {
  for (const c of components) {
    const started = Date.now();
    try {
      const detail = await c.start();
      console.log(`${pad(c.name)} ready    ${detail} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
    } catch (err) {
      console.error(`${pad(c.name)} FAILED   ${(err as Error).message}`);
      return 1;
    }
  }
  return 0;
}

async function down(): Promise<number> {
  // What npm start runs on top of the stack goes first: it depends on the stack.
  console.log(`${pad('gateway')} ${await stopGatewayProcesses()}`);
  for (const c of [...components].reverse()) {
    console.log(`${pad(c.name)} ${await c.stop()}`);
  }
  return 0;
}

async function status(): Promise<number> {
  let allUp = true;
  for (const c of components) {
    const s = await c.status();
    allUp &&= s !== undefined;
    console.log(`${pad(c.name)} ${s === undefined ? 'down' : `running  ${s}`}`);
  }
  const gateway = runningGatewayProcesses();
  console.log(`${pad('gateway')} ${gateway.length === 0 ? 'not running (npm start runs it)' : `running  ${gateway.join(', ')}`}`);
  return allUp ? 0 : 3;
}

const action = process.argv[2];
const actions: Record<string, () => Promise<number>> = { up, down, status };
const run = action ? actions[action] : undefined;
if (!run) {
  console.error('usage: infra (up|down|status)');
  process.exit(2);
}
process.exitCode = await run();
