/**
 * bench:ssh — the SSH data path, directly to the test sshd and through Portcullis, in one run:
 * scp -O (exec channel) and sftp upload/download, `ssh host head -c N /dev/zero` streaming, and
 * the exec round trip (`ssh host true`) on a fresh connection and on a multiplexed one
 * (ControlMaster: the command alone, as a session that stays open sees it).
 *   npm run bench:ssh [-- <MiB, default 1024>]
 *   BENCH_SSH_ONLY=sftp,exec   only the transfers / round trips whose name contains one of these words
 *   BENCH_SSH_ROUND_TRIPS=N    exec round trips per mode (default 30)
 * Needs the stack (`npm run infra:up`) and OpenSSH's ssh, scp, sftp and sshd (apt-get install -y
 * --no-install-recommends openssh-client openssh-server). The proxy runs alone in this process
 * (deciding at the edge; no PDP or approvals service here): its CPU and RSS are this process's.
 * Last line: the worst transfer ratio to direct OpenSSH.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueHumanToken } from '@portcullis/infra';
import { createTestBus } from '@portcullis/kit';
import { publishPolicy } from '@portcullis/policy-decision';
import { ISSUER, TEST_POLICY, generateClientKey } from '../test/support/fixture.ts';
import { startSshGateway } from '../test/support/gateway.ts';
import type { ExecTiming } from '../src/index.ts';

for (const tool of ['ssh', 'scp', 'sftp']) {
  if (!(await run('sh', ['-c', `command -v ${tool}`]).then(() => true, () => false))) {
    console.error(`bench:ssh needs ${tool}: apt-get install -y --no-install-recommends openssh-client openssh-server`);
    process.exit(2);
  }
}

const mib = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 1024);
const bytes = mib * 1024 * 1024;
const roundTrips = Number(process.env.BENCH_SSH_ROUND_TRIPS ?? 30);
const only = (process.env.BENCH_SSH_ONLY ?? '').split(',').map((w) => w.trim()).filter(Boolean);
const selected = (name: string): boolean => only.length === 0 || only.some((w) => name.includes(w));

interface Measure {
  seconds: number;
  cpuSeconds: number;
  peakRssMiB: number;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], env: env ?? process.env });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} → ${code}: ${stderr.slice(0, 500)}`))));
  });
}

async function measured(fn: () => Promise<void>): Promise<Measure> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  try {
    await fn();
  } finally {
    clearInterval(sampler);
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssMiB: Math.max(peak, process.memoryUsage().rss) / 2 ** 20 };
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The proxy's own account of each exec while the multiplexed round trips run through it. */
let execTimings: ExecTiming[] | undefined;
let multiplexedTimings: ExecTiming[] = [];
// The proxy alone in this process, deciding at the edge on the test policy: the PDP (which re-decides every
// edge verdict from the log) and the approvals service are other processes in a deployment and are not
// started here, so that they do not share this event loop (the proxy's figures) with the proxy.
const bus = createTestBus('proxy-ssh-bench');
await bus.connect();
const published = await publishPolicy({ bus, yamlText: TEST_POLICY, fileName: 'ssh-bench.yaml' });
if (!published.ok) throw new Error(`policy refused: ${JSON.stringify(published.errors)}`);
const f = await startSshGateway({ bus, onExecTimed: (t) => execTimings?.push(t) });
const work = mkdtempSync(join(tmpdir(), 'portcullis-bench-ssh-'));
try {
  const key = generateClientKey(work, 'bench_ed25519');
  const token = await issueHumanToken(ISSUER, 'alice');
  const registered = await fetch(`http://127.0.0.1:${f.keysPort}/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: readFileSync(`${key}.pub`, 'utf8') });
  if (!registered.ok) throw new Error(`key registration: ${registered.status}`);

  const source = join(work, 'source.bin');
  const fd = openSync(source, 'w');
  const chunk = randomBytes(1024 * 1024);
  for (let i = 0; i < mib; i++) writeSync(fd, chunk);
  closeSync(fd);
  const remoteDir = mkdtempSync(join(tmpdir(), 'portcullis-bench-ssh-remote-'));

  const common = ['-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
  const paths = {
    direct: { port: f.sshd.port, key: f.sshd.userKeyPath, login: 'root' },
    portcullis: { port: f.port, key, login: 'root@web-1' },
  };
  type Path = keyof typeof paths;
  const sshArgs = (p: Path, extra: string[] = []): string[] => ['-p', String(paths[p].port), '-i', paths[p].key, ...common, ...extra, `${paths[p].login}@127.0.0.1`];

  const transfers: Record<string, (p: Path, remote: string, local: string) => Promise<void>> = {
    'scp -O upload': (p, remote) => run('scp', ['-O', '-q', '-P', String(paths[p].port), '-i', paths[p].key, ...common, source, `${paths[p].login}@127.0.0.1:${remote}`]),
    'scp -O download': (p, remote, local) => run('scp', ['-O', '-q', '-P', String(paths[p].port), '-i', paths[p].key, ...common, `${paths[p].login}@127.0.0.1:${remote}`, local]),
    'sftp upload': (p, remote) => sftp(p, `put ${source} ${remote}`),
    'sftp download': (p, remote, local) => sftp(p, `get ${remote} ${local}`),
    'ssh head -c N /dev/zero': (p) => run('ssh', [...sshArgs(p), `head -c ${bytes} /dev/zero`]),
  };
  const sftp = (p: Path, line: string): Promise<void> => {
    const batch = join(work, `batch-${p}`);
    writeFileSync(batch, `${line}\n`);
    return run('sftp', ['-q', '-b', batch, '-P', String(paths[p].port), '-i', paths[p].key, ...common, `${paths[p].login}@127.0.0.1`]);
  };

  const rows: { name: string; direct: Measure; portcullis: Measure }[] = [];
  for (const [name, transfer] of Object.entries(transfers)) {
    if (!selected(name)) continue;
    const results = {} as Record<Path, Measure>;
    for (const p of ['direct', 'portcullis'] as const) {
      const remote = join(remoteDir, 'big.bin');
      const local = join(work, 'back.bin');
      if (name.endsWith('download')) await run('cp', [source, remote]);
      results[p] = await measured(() => transfer(p, remote, local));
      const arrived = name.endsWith('upload') ? remote : name.endsWith('download') ? local : undefined;
      if (arrived && statSync(arrived).size !== bytes) throw new Error(`${name} via ${p}: ${statSync(arrived).size} bytes arrived, ${bytes} sent`);
      rmSync(remote, { force: true });
      rmSync(local, { force: true });
    }
    rows.push({ name, ...results });
    console.log(`${name}: direct ${(mib / results.direct.seconds).toFixed(1)} MiB/s, portcullis ${(mib / results.portcullis.seconds).toFixed(1)} MiB/s`);
  }

  // exec round trips: a fresh connection per command, then commands over one multiplexed connection.
  // Direct and Portcullis alternate command by command (which goes first alternates too), so that both
  // see the same machine: on a shared machine the load moves more in a minute than the proxy adds.
  const latency: { name: string; direct: number[]; portcullis: number[]; added: number[] }[] = [];
  for (const mode of ['fresh connection', 'multiplexed'] as const) {
    if (!selected(`exec ${mode}`)) continue;
    const samples = { direct: [] as number[], portcullis: [] as number[], added: [] as number[] };
    const mux = (p: Path): string[] => (mode === 'multiplexed' ? ['-o', 'ControlMaster=auto', '-o', `ControlPath=${join(work, `cm-${p}`)}`, '-o', 'ControlPersist=120'] : []);
    if (mode === 'multiplexed') for (const p of ['direct', 'portcullis'] as const) await run('ssh', [...sshArgs(p, mux(p)), 'true']);
    if (mode === 'multiplexed') execTimings = [];
    for (let i = 0; i < roundTrips; i++) {
      const took = {} as Record<Path, number>;
      for (const p of i % 2 === 0 ? (['direct', 'portcullis'] as const) : (['portcullis', 'direct'] as const)) {
        const t0 = process.hrtime.bigint();
        await run('ssh', [...sshArgs(p, mux(p)), 'true']);
        took[p] = Number(process.hrtime.bigint() - t0) / 1e6;
      }
      samples.direct.push(took.direct);
      samples.portcullis.push(took.portcullis);
      samples.added.push(took.portcullis - took.direct);
    }
    if (mode === 'multiplexed') {
      multiplexedTimings = execTimings ?? [];
      execTimings = undefined;
      for (const p of ['direct', 'portcullis'] as const) await run('ssh', [...sshArgs(p, mux(p)), '-O', 'exit']).catch(() => undefined);
    }
    for (const list of Object.values(samples)) list.sort((a, b) => a - b);
    latency.push({ name: `ssh host true (${mode})`, ...samples });
  }

  console.log(`\n### bench:ssh — ${mib} MiB per transfer, ${new Date().toISOString().slice(0, 10)}, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)}\n`);
  console.log('| transfer | direct MiB/s | Portcullis MiB/s | ratio | proxy CPU s | proxy peak RSS MiB |');
  console.log('|---|---|---|---|---|---|');
  let worst = Infinity;
  for (const r of rows) {
    const ratio = r.direct.seconds / r.portcullis.seconds;
    worst = Math.min(worst, ratio);
    console.log(`| ${r.name} | ${(mib / r.direct.seconds).toFixed(1)} | ${(mib / r.portcullis.seconds).toFixed(1)} | ${ratio.toFixed(2)} | ${r.portcullis.cpuSeconds.toFixed(1)} | ${r.portcullis.peakRssMiB.toFixed(0)} |`);
  }
  console.log(`\n| exec round trip (${roundTrips} runs each, interleaved) | direct p50 / p99 ms | Portcullis p50 / p99 ms | added p50 ms (difference of p50s) | added p50 ms (paired runs) |`);
  console.log('|---|---|---|---|---|');
  for (const l of latency) {
    console.log(`| ${l.name} | ${quantile(l.direct, 0.5).toFixed(1)} / ${quantile(l.direct, 0.99).toFixed(1)} | ${quantile(l.portcullis, 0.5).toFixed(1)} / ${quantile(l.portcullis, 0.99).toFixed(1)} | ${(quantile(l.portcullis, 0.5) - quantile(l.direct, 0.5)).toFixed(1)} | ${quantile(l.added, 0.5).toFixed(1)} |`);
  }
  if (multiplexedTimings.length > 0) {
    const median = (pick: (t: ExecTiming) => number): string => quantile(multiplexedTimings.map(pick).sort((a, b) => a - b), 0.5).toFixed(1);
    console.log(`\nProxy side of the multiplexed round trip (p50 ms of ${multiplexedTimings.length}): judge (edge decision + command and verdict acknowledged by Kafka) ${median((t) => t.judgeMs)}, target open (channel + exec, the target starting the command) ${median((t) => t.targetOpenMs)}, run ${median((t) => t.runMs)}, relay of exit/EOF/close ${median((t) => t.relayMs)}.`);
  }
  rmSync(remoteDir, { recursive: true, force: true });
  console.log(`\nbench:ssh worst ratio to direct OpenSSH: ${rows.length > 0 ? worst.toFixed(2) : "– (no transfer ran)"}`);
} finally {
  rmSync(work, { recursive: true, force: true });
  await f.close();
  await bus.disconnect();
}
