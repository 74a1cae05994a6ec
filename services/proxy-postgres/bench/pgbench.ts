/**
 * What the PostgreSQL benchmarks share (bench:pg, bench:audit-lag): the demo
 * database initialised for pgbench, a free loopback port, a throwaway
 * certificate, the proxy configured for the demo database, and pgbench run
 * as a child process (so the proxy in this process keeps its event loop),
 * latencies read from its --log.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { postgresConnection } from '@portcullis/infra';
import { seedDemoDatabase, DEMO_ROLE, demoPasswordFile } from '../../../infra/src/demo/seed.ts';
import { parseProxyConfig, type ProxyConfigInput } from '../src/config.ts';

export { DEMO_ROLE, demoPasswordFile };

export interface PgbenchResult { tps: number; p50: number; p99: number }

/** Fails with how to install it when a tool the benchmark runs is missing. */
export function requireTools(tools: [tool: string, installHint: string][]): void {
  for (const [tool, hint] of tools) {
    if (spawnSync(tool, ['--version']).error) throw new Error(`this benchmark needs ${tool}: ${hint}`);
  }
}

/** Seeds the demo database and initialises pgbench's tables in it (scale 4); returns the demo role's password. */
export async function preparePgbenchDatabase(): Promise<string> {
  const pg = postgresConnection();
  await seedDemoDatabase();
  const password = readFileSync(demoPasswordFile, 'utf8').trim();
  const init = spawnSync('pgbench', ['-i', '-s', '4', '-q', '-h', pg.host, '-p', String(pg.port), '-U', DEMO_ROLE, 'demo'], { env: { ...process.env, PGPASSWORD: password }, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  return password;
}

/** A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem), valid one day. */
export function generateCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

/** The proxy's configuration for the demo database as resource `demo` (tags: production). */
export function demoProxyConfig(tls: { cert: string; key: string }, extra: Partial<ProxyConfigInput> = {}) {
  const pg = postgresConnection();
  return parseProxyConfig({
    resources: [{ name: 'demo', protocol: 'postgres', tags: ['production'], target: { host: pg.host, port: pg.port, database: 'demo', user: DEMO_ROLE, tls: 'disable' }, credential: { file: demoPasswordFile } }],
    listen: { host: '127.0.0.1', port: 0 },
    tls,
    ...extra,
  });
}

let run = 0;
/** Runs `pgbench -n -S` against 127.0.0.1:port as a child process; TPS and latency p50/p99 (ms, from --log). */
export function pgbench(o: { workDir: string; port: number; user: string; password: string; sslmode: string; mode: string; clients: number; seconds: number }): Promise<PgbenchResult> {
  const logDir = mkdtempSync(join(o.workDir, `log-${run++}-`));
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-n', '-S', '-M', o.mode, '-c', String(o.clients), '-j', String(Math.min(o.clients, 2)), '-T', String(o.seconds), '--log', `--log-prefix=${join(logDir, 'tx')}`, '-h', '127.0.0.1', '-p', String(o.port), '-U', o.user, 'demo'], {
      env: { ...process.env, PGPASSWORD: o.password, PGSSLMODE: o.sslmode }, cwd: logDir,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (o.seconds + 60) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const tps = /tps = ([\d.]+)/.exec(out)?.[1];
      if (!tps) return reject(new Error(`pgbench failed (port ${o.port}, ${o.mode}, ${o.clients}, exit ${code}): ${out}`));
      const latencies: number[] = [];
      for (const f of readdirSync(logDir)) {
        for (const line of readFileSync(join(logDir, f), 'utf8').split('\n')) {
          const us = Number(line.split(' ')[2]);
          if (line && Number.isFinite(us)) latencies.push(us / 1000);
        }
      }
      latencies.sort((a, b) => a - b);
      resolve({ tps: Number(tps), p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) });
    });
  });
}

/** The q-quantile of ascending `sorted` (NaN when empty). */
export const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
