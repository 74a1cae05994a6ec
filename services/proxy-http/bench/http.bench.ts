/**
 * bench:http — the HTTP data path with wrk (Debian package) in one run, against the upstream
 * directly, through nginx as a plain reverse proxy (Debian package, the like-for-like anchor)
 * and through Portcullis: small GETs, 1 MB downloads, a JSON list of 1,000 customer records
 * (masked by Portcullis for a service identity) and a Kubernetes watch stream (curl).
 *   npm run bench:http [-- <seconds per run, default 8>]
 * Needs the stack (`npm run infra:up`), wrk, nginx and curl:
 *   apt-get install -y --no-install-recommends wrk nginx-light curl
 * (nginx is started here on a free loopback port with its own config; no system service).
 * The proxy runs as in a deployment, in a process of its own (src/main.ts; proxy-process.ts); the PDP
 * runs in this process and the upstream in another: "proxy CPU" is the proxy process's CPU seconds per second of load (1.0 =
 * one core, read from /proc), RSS its peak. BENCH_HTTP_PROFILE=<path> runs only that case through
 * Portcullis with the proxy under --cpu-prof (the profile lands in BENCH_HTTP_PROFILE_DIR, default .). Last line: the worst ratio of
 * Portcullis to nginx for small GETs and the masked JSON throughput against its 50 MB/s target.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { ISSUER } from '../test/support/harness.ts';
import { startProxyProcess, type ProxyProcess } from './proxy-process.ts';

for (const [tool, args] of [['wrk', ['--version']], ['nginx', ['-v']], ['curl', ['--version']]] as const) {
  if (spawnSync(tool, args).error) {
    console.error(`bench:http needs ${tool}: apt-get install -y --no-install-recommends wrk nginx-light curl`);
    process.exit(2);
  }
}

const seconds = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 8);
const connections = 32;
const watchEvents = 100_000;

const BENCH_POLICY = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: bench-read
    effect: allow
    reason: reads are fine
    match: { resource: { names: [api, k8s] }, http: { methods: [GET] } }
  - id: bench-pii-masked
    effect: mask
    reason: customer data is masked for automation
    match: { identity: { kind: service }, resource: { names: [api] }, http: { paths: ["/customers"] } }
    mask: { fields: [email, billing.card_number], detectors: [email, card, phone] }
`;

function started(child: ChildProcess): Promise<{ port: number }> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()) as { port: number }));
  });
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} → ${code}: ${err.slice(0, 300)}`))));
  });
}

const UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1000, m: 60_000, B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };
const quantity = (text: string): number => {
  const m = /^([\d.]+)([a-zA-Z]+)$/.exec(text.trim());
  return m ? Number(m[1]) * (UNITS[m[2]!] ?? NaN) : NaN;
};

interface Load {
  rps: number;
  p50: number;
  p99: number;
  mbps: number;
  cpu: number;
  rss: number;
}

/** One wrk run; CPU and peak RSS of the proxy process while it runs. */
async function wrk(url: string, token: string): Promise<Load> {
  const proxy = proxyProcess!;
  let peak = proxy.rssMiB();
  const sampler = setInterval(() => (peak = Math.max(peak, proxy.rssMiB())), 100);
  const cpu0 = proxy.cpuSeconds();
  const t0 = Date.now();
  const out = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '--latency', '-H', `Authorization: Bearer ${token}`, url]).finally(() => clearInterval(sampler));
  const cpu = proxy.cpuSeconds() - cpu0;
  if (/Non-2xx or 3xx responses/.test(out) || /Socket errors/.test(out)) throw new Error(`wrk ${url}: errors\n${out}`);
  const line = (label: string): string => out.split('\n').find((l) => l.trim().startsWith(label))?.trim().split(/\s+/).pop() ?? 'NaN';
  return {
    rps: Number(line('Requests/sec:')),
    p50: quantity(line('50%')),
    p99: quantity(line('99%')),
    mbps: quantity(line('Transfer/sec:')) / 1e6,
    cpu: cpu / ((Date.now() - t0) / 1000),
    rss: peak,
  };
}

/** The watch stream with curl: MB/s of the whole response. */
async function watch(url: string, token: string): Promise<Load> {
  const proxy = proxyProcess!;
  const cpu0 = proxy.cpuSeconds();
  const t0 = Date.now();
  const out = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', '-H', `Authorization: Bearer ${token}`, url]);
  const cpu = proxy.cpuSeconds() - cpu0;
  const [code, size, time] = out.trim().split(' ').map(Number) as [number, number, number];
  if (code !== 200) throw new Error(`watch ${url}: HTTP ${code}`);
  return { rps: NaN, p50: NaN, p99: NaN, mbps: size / time / 1e6, cpu: cpu / ((Date.now() - t0) / 1000), rss: proxy.rssMiB() };
}

class ProfileDone extends Error {}

const work = mkdtempSync(join(tmpdir(), 'portcullis-bench-http-'));
const upstream = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'upstream.ts'), String(watchEvents)], { stdio: ['ignore', 'pipe', 'inherit'] });
let nginx: ChildProcess | undefined;
let proxyProcess: ProxyProcess | undefined;
try {
  const { port: upstreamPort } = await started(upstream);
  const direct = `http://127.0.0.1:${upstreamPort}`;
  const nginxPort = await freeLoopbackPort();
  // One worker (the proxy is one Node process), keep-alive to the upstream, no buffering to disk.
  writeFileSync(join(work, 'nginx.conf'), `
worker_processes 1;
daemon off;
pid ${join(work, 'nginx.pid')};
error_log ${join(work, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${work}; proxy_temp_path ${work}; fastcgi_temp_path ${work}; uwsgi_temp_path ${work}; scgi_temp_path ${work};
  upstream backend { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_max_temp_file_size 0; }
  }
}
`);
  nginx = spawn('nginx', ['-p', work, '-c', join(work, 'nginx.conf')], { stdio: 'inherit' });
  await new Promise((r) => setTimeout(r, 500));
  const viaNginx = `http://127.0.0.1:${nginxPort}`;

  // Profiling one case: BENCH_HTTP_PROFILE=<path> runs only Portcullis on it, the proxy under --cpu-prof (profile in BENCH_HTTP_PROFILE_DIR, default .).
  const profile = process.env.BENCH_HTTP_PROFILE;
  const profileFlags = profile ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_HTTP_PROFILE_DIR ?? '.'}`] : [];
  proxyProcess = await startProxyProcess({ dir: work, port: await freeLoopbackPort(), upstream: direct, policy: BENCH_POLICY, nodeFlags: profileFlags });
  const human = await issueHumanToken(ISSUER, 'alice');
  const service = await issueServiceToken(ISSUER, 'ci-deploy');
  const via = { direct, nginx: viaNginx, portcullis: `${proxyProcess.url}/r/api` };
  const k8s = { direct, nginx: viaNginx, portcullis: `${proxyProcess.url}/r/k8s` };

  if (profile) {
    const token = profile === '/customers' ? service : human;
    console.log(JSON.stringify(await wrk(`${via.portcullis}${profile}`, token)));
  }
  const rows: { name: string; direct: Load; nginx: Load; portcullis: Load }[] = [];
  for (const [name, path, portcullisToken] of profile ? [] : [
    ['small GET', '/small', human],
    ['1 MB download', '/1mb', human],
    ['JSON list of 1,000 records (masked by Portcullis)', '/customers', service],
  ] as const) {
    const r = {
      direct: await wrk(`${via.direct}${path}`, human),
      nginx: await wrk(`${via.nginx}${path}`, human),
      portcullis: await wrk(`${via.portcullis}${path}`, portcullisToken),
    };
    rows.push({ name, ...r });
    console.log(`${name}: direct ${r.direct.rps.toFixed(0)}/s, nginx ${r.nginx.rps.toFixed(0)}/s, portcullis ${r.portcullis.rps.toFixed(0)}/s`);
  }
  if (profile) throw new ProfileDone();
  const watchPath = '/api/v1/namespaces/default/pods?watch=1';
  const w = { direct: await watch(`${k8s.direct}${watchPath}`, human), nginx: await watch(`${k8s.nginx}${watchPath}`, human), portcullis: await watch(`${k8s.portcullis}${watchPath}`, human) };

  const f0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '–');
  const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '–');
  console.log(`\n### bench:http — wrk -t1 -c${connections} -d${seconds}s, ${new Date().toISOString().slice(0, 10)}, load ${loadavg()[0]!.toFixed(1)}\n`);
  console.log('| request | direct req/s | nginx req/s | Portcullis req/s | Portcullis / nginx | p50 / p99 ms direct · nginx · Portcullis | MB/s direct · nginx · Portcullis | proxy CPU (cores) | proxy CPU ms / request | proxy RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${f0(r.direct.rps)} | ${f0(r.nginx.rps)} | ${f0(r.portcullis.rps)} | ${(r.portcullis.rps / r.nginx.rps).toFixed(2)} | ${f1(r.direct.p50)}/${f1(r.direct.p99)} · ${f1(r.nginx.p50)}/${f1(r.nginx.p99)} · ${f1(r.portcullis.p50)}/${f1(r.portcullis.p99)} | ${f1(r.direct.mbps)} · ${f1(r.nginx.mbps)} · ${f1(r.portcullis.mbps)} | ${r.portcullis.cpu.toFixed(2)} | ${((r.portcullis.cpu / r.portcullis.rps) * 1000).toFixed(2)} | ${f0(r.portcullis.rss)} |`);
  }
  console.log(`| watch stream, ${watchEvents.toLocaleString('en')} pod events (curl) | | | | ${(w.portcullis.mbps / w.nginx.mbps).toFixed(2)} | | ${f1(w.direct.mbps)} · ${f1(w.nginx.mbps)} · ${f1(w.portcullis.mbps)} | ${w.portcullis.cpu.toFixed(2)} | | ${f0(w.portcullis.rss)} |`);
  const smallRatio = rows[0]!.portcullis.rps / rows[0]!.nginx.rps;
  const maskedMBps = rows[2]!.portcullis.mbps;
  const worst = Math.min(...rows.map((r) => r.portcullis.rps / r.nginx.rps), w.portcullis.mbps / w.nginx.mbps);
  console.log(`\nsmall GETs ${smallRatio.toFixed(2)}× nginx (target ≥ 0.5); masked JSON ${maskedMBps.toFixed(1)} MB/s (target ≥ 50)`);
  console.log(`bench:http worst ratio to nginx: ${worst.toFixed(2)}`);
} catch (err) {
  if (!(err instanceof ProfileDone)) throw err;
} finally {
  await proxyProcess?.close();
  nginx?.kill('SIGQUIT');
  upstream.kill();
  rmSync(work, { recursive: true, force: true });
}
