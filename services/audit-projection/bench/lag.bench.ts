/**
 * npm run bench:audit-lag — does the audit keep up with the gateway under
 * full load? pgbench -S drives the PostgreSQL proxy (deciding at the edge,
 * every statement recorded with its verdict before it runs, result rows
 * recorded masked) for BENCH_SECONDS; the audit projection runs in a process
 * of its own, as in production. Every second the lag is sampled from outside
 * it — Kafka end offsets against the view's own checkpoints in PostgreSQL —
 * and after pgbench stops the time until the lag is back to 0 is measured.
 * Prints the series and p50/p99 of the lag in events and in seconds behind
 * the newest event (targets: p99 < 2 s, back to 0 within 2 s).
 *
 *   BENCH_SECONDS=30  BENCH_CLIENTS=32  BENCH_MODE=simple|extended|prepared
 * Needs pgbench and openssl (apt-get install -y postgresql-client openssl) and the running stack.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, createTestBus, partitionStatus, schemaIdent, silentLogger } from '@portcullis/kit';
import { issueServiceToken, postgresUrl } from '@portcullis/infra';
import { publishPolicy } from '@portcullis/policy-decision';
import { startPostgresGateway } from '../../proxy-postgres/src/gateway.ts';
import { demoProxyConfig, generateCertificate, percentile, pgbench, preparePgbenchDatabase, requireTools } from '../../proxy-postgres/bench/pgbench.ts';
import { AUDIT_TOPICS } from '../src/audit/tables.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const clients = Number(process.env.BENCH_CLIENTS ?? 32);
const mode = process.env.BENCH_MODE ?? 'simple';
const issuer = 'http://127.0.0.1:9400';
requireTools([['pgbench', 'apt-get install -y postgresql-client'], ['openssl', 'apt-get install -y openssl']]);
await preparePgbenchDatabase();
const workDir = mkdtempSync(join(tmpdir(), 'pcl-bench-lag-'));

const bus = createTestBus('bench-audit-lag', { partitions: 3 });
await bus.connect();
await publishPolicy({ bus, yamlText: readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8'), fileName: 'automation-access.yaml' });
const gateway = await startPostgresGateway({ config: demoProxyConfig(generateCertificate(workDir)), bus, logger: silentLogger(), issuer, port: 0 });
const token = await issueServiceToken(issuer, 'reporting-job');

const schema = `bench_lag_${randomBytes(4).toString('hex')}`;
const pool = createPool(postgresUrl('portcullis'), 2);
const projection = fork(fileURLToPath(new URL('./lag-projection.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'], env: { ...process.env, BENCH_NAMESPACE: bus.names.namespace, BENCH_SCHEMA: schema },
});
await new Promise<void>((resolve, reject) => {
  projection.once('message', () => resolve());
  projection.once('exit', (code) => reject(new Error(`the projection process exited (${code}) before it was ready`)));
});
// The view held everything when the projection said ready: an event never applied on a partition is at most this old.
const ready = Date.now();

const topics = AUDIT_TOPICS.map((k) => bus.names.of(k));
const admin = await bus.admin();
/** The view's lag as the world sees it: Kafka's end offsets against the checkpoints the projection committed with its rows. */
async function sampleLag(): Promise<{ at: number; lag: number; secondsBehind: number }> {
  const { rows } = await pool.query<{ topic: string; partition: number; next_offset: string; applied_until: string | null }>(
    `SELECT topic, partition, next_offset, applied_until FROM ${schemaIdent(schema)}.checkpoints WHERE consumer = 'audit'`);
  const checkpoints = new Map(rows.map((r) => [`${r.topic}:${r.partition}`, r]));
  const now = Date.now();
  let lag = 0;
  let secondsBehind = 0;
  for (const topic of topics) {
    for (const p of await admin.fetchTopicOffsets(topic)) {
      const c = checkpoints.get(`${topic}:${p.partition}`);
      const status = partitionStatus({
        topic, partition: p.partition, position: BigInt(c?.next_offset ?? 0), end: BigInt(p.high),
        appliedUntil: c?.applied_until ? Date.parse(c.applied_until) : undefined, now, since: ready,
      });
      lag += status.lag;
      secondsBehind = Math.max(secondsBehind, status.secondsBehind);
    }
  }
  return { at: now, lag, secondsBehind };
}

console.log(`bench:audit-lag — pgbench -S -M ${mode} -c ${clients} for ${seconds} s through the PostgreSQL proxy (edge decisions, rows recorded); ` +
  `the audit projection in its own process; lag sampled every second; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; 2 cores shared by all`);
const series: { at: number; lag: number; secondsBehind: number }[] = [];
let sampling = true;
const sampler = (async () => {
  while (sampling) {
    const next = Date.now() + 1000;
    series.push(await sampleLag());
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
})();
const load = await pgbench({ workDir, port: gateway.port, user: 'reporting-job', password: token, sslmode: 'require', mode, clients, seconds });
const stopped = Date.now();
sampling = false;
await sampler;
// Back to 0: sampled every 100 ms from the moment pgbench stopped.
let drained = await sampleLag();
while (drained.lag > 0 && Date.now() - stopped < 120_000) {
  await new Promise((r) => setTimeout(r, 100));
  drained = await sampleLag();
}
const backToZero = (drained.at - stopped) / 1000;
const loadAfter = loadavg().map((l) => l.toFixed(2)).join(' ');

const { rows: [counts] } = await pool.query(`SELECT (SELECT count(*) FROM ${schemaIdent(schema)}.commands)::int AS commands`);
const byLag = series.map((s) => s.lag).sort((a, b) => a - b);
const bySeconds = series.map((s) => s.secondsBehind).sort((a, b) => a - b);
console.log(`series (s since start: lag events / seconds behind): ${series.map((s) => `${((s.at - series[0]!.at) / 1000).toFixed(0)}:${s.lag}/${s.secondsBehind.toFixed(1)}`).join(' ')}`);
console.log(`load: ${load.tps.toFixed(0)} TPS (p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms), ${counts.commands} commands in the audit`);
console.log(`lag during load (${series.length} samples): p50 ${percentile(byLag, 0.5)} events / ${percentile(bySeconds, 0.5).toFixed(2)} s, ` +
  `p99 ${percentile(byLag, 0.99)} events / ${percentile(bySeconds, 0.99).toFixed(2)} s, max ${byLag.at(-1)} events / ${bySeconds.at(-1)?.toFixed(2)} s (target p99 < 2 s)`);
console.log(drained.lag === 0
  ? `back to 0 ${backToZero.toFixed(2)} s after the load stopped (target ≤ 2 s); load average after ${loadAfter}`
  : `NOT back to 0 within 120 s after the load stopped: ${drained.lag} events behind; load average after ${loadAfter}`);

projection.kill('SIGTERM');
await new Promise((r) => projection.once('exit', r));
await pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(schema)} CASCADE`);
await pool.end();
await gateway.close();
await bus.disconnect();
rmSync(workDir, { recursive: true, force: true });
process.exit(0);
