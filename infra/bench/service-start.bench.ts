/**
 * Start time and memory of every gateway service, from its TypeScript
 * through tsx (development) and from its build output with plain node
 * (`npm run build`, what npm start and production run). One service at a
 * time, each run in its own topic namespace against the running stack:
 * time from spawn to /readyz 200 on its admin port, and its resident memory
 * (VmRSS) then.
 *   npm run bench:start [-- runs]     (default 3 runs per service and runtime; medians printed)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_SERVICES, adminPortOf, isolatedGateway, repoRoot, spawnService, waitReady, type Runtime } from '../src/index.ts';

const runs = Number(process.argv[2] ?? 3);
const build = spawnSync(process.execPath, [join(repoRoot, 'infra/build.mjs')], { cwd: repoRoot, encoding: 'utf8' });
if (build.status !== 0) throw new Error(`build failed:\n${build.stderr}`);

const dir = mkdtempSync(join(tmpdir(), 'portcullis-start-bench-'));
const passwordFile = join(dir, 'pg-password');
writeFileSync(passwordFile, 'not-used-at-start', { mode: 0o600 });

const rssMiB = (pid: number): number => {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!;
  return Number(line.split(/\s+/)[1]) / 1024;
};
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function once(service: (typeof GATEWAY_SERVICES)[number], runtime: Runtime): Promise<{ ms: number; rss: number }> {
  const gateway = isolatedGateway(join(dir, `${service.name}-${runtime}-${Date.now()}`), { pgUser: 'nobody', pgDatabase: 'demo', pgPasswordFile: passwordFile });
  const started = performance.now();
  const child = spawnService(service, runtime, { env: gateway.envOf(service.name), stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await adminPortOf(child, 180_000);
    await waitReady(`http://127.0.0.1:${port}`, 180_000);
    return { ms: performance.now() - started, rss: rssMiB(child.pid!) };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    await exited;
  }
}

console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}; ${runs} run(s) each, medians`);
console.log(`${'service'.padEnd(20)} ${'tsx ready ms'.padStart(13)} ${'node ready ms'.padStart(14)} ${'tsx RSS MiB'.padStart(12)} ${'node RSS MiB'.padStart(13)}`);
for (const service of GATEWAY_SERVICES) {
  const results: Record<Runtime, { ms: number; rss: number }[]> = { tsx: [], node: [] };
  for (let i = 0; i < runs; i++) {
    for (const runtime of ['tsx', 'node'] as const) results[runtime].push(await once(service, runtime));
  }
  const m = (r: Runtime, k: 'ms' | 'rss'): string => median(results[r].map((x) => x[k])).toFixed(0);
  console.log(`${service.name.padEnd(20)} ${m('tsx', 'ms').padStart(13)} ${m('node', 'ms').padStart(14)} ${m('tsx', 'rss').padStart(12)} ${m('node', 'rss').padStart(13)}`);
}
rmSync(dir, { recursive: true, force: true });
