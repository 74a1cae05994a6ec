/**
 * npm run bench:pg — pgbench -S (select-only) at 1, 8 and 32 clients in
 * -M simple and -M prepared: directly to PostgreSQL, through PgBouncer (the
 * reference pass-through proxy, session pooling) and through Portcullis (the
 * proxy, the PDP deciding every statement over Kafka, the example policy).
 * Prints TPS and average latency, and the ratios.
 *   BENCH_SECONDS (default 30) per run; BENCH_CLIENTS (default "1,8,32").
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { createTestBus, createLogger, silentLogger } from '@portcullis/kit';
import { issueServiceToken, postgresConnection } from '@portcullis/infra';
import { publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { seedDemoDatabase, DEMO_ROLE, demoPasswordFile } from '../../../infra/src/demo/seed.ts';
import { parseProxyConfig } from '../src/config.ts';
import { startPostgresGateway } from '../src/gateway.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 30);
const clientCounts = (process.env.BENCH_CLIENTS ?? '1,8,32').split(',').map(Number);
const issuer = 'http://127.0.0.1:9400';
const pg = postgresConnection();

await seedDemoDatabase();
const demoPassword = readFileSync(demoPasswordFile, 'utf8').trim();
const init = spawnSync('pgbench', ['-i', '-s', '4', '-q', '-h', pg.host, '-p', String(pg.port), '-U', DEMO_ROLE, 'demo'], { env: { ...process.env, PGPASSWORD: demoPassword }, encoding: 'utf8' });
if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

const freePort = (): Promise<number> => new Promise((resolve) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address() as { port: number };
    s.close(() => resolve(port));
  });
});

// PgBouncer, session pooling (prepared statements need it), SCRAM to PostgreSQL.
const bouncerDir = mkdtempSync(join(tmpdir(), 'pcl-pgbouncer-'));
const bouncerPort = await freePort();
writeFileSync(join(bouncerDir, 'userlist.txt'), `"${DEMO_ROLE}" "${demoPassword}"\n`, { mode: 0o600 });
writeFileSync(join(bouncerDir, 'pgbouncer.ini'), [
  '[databases]', `demo = host=${pg.host} port=${pg.port} dbname=demo`,
  '[pgbouncer]', `listen_addr = 127.0.0.1`, `listen_port = ${bouncerPort}`, `auth_type = scram-sha-256`, `auth_file = ${join(bouncerDir, 'userlist.txt')}`,
  'pool_mode = session', 'max_client_conn = 200', 'default_pool_size = 40', `unix_socket_dir =`, `logfile = ${join(bouncerDir, 'pgbouncer.log')}`,
].join('\n'));
const bouncerUser = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
spawnSync('chown', ['-R', 'postgres', bouncerDir]);
const bouncer = spawn(bouncerUser[0] ?? '/usr/sbin/pgbouncer', [...bouncerUser.slice(1), '/usr/sbin/pgbouncer', join(bouncerDir, 'pgbouncer.ini')].filter((a, i) => bouncerUser.length > 0 || i > 0), { stdio: 'ignore' });

// Portcullis: the PDP and the proxy in this process, commands over Kafka.
const bus = createTestBus('bench-pg', { partitions: 3 });
await bus.connect();
await publishPolicy({ bus, yamlText: readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8'), fileName: 'automation-access.yaml' });
const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
const config = parseProxyConfig({
  resources: [{ name: 'demo', protocol: 'postgres', tags: ['production'], target: { host: pg.host, port: pg.port, database: 'demo', user: DEMO_ROLE, tls: 'disable' }, credential: { file: demoPasswordFile } }],
  listen: { host: '127.0.0.1', port: 0 },
  recording: { maxRows: 0, maxBytes: 0 },
});
const gateway = await startPostgresGateway({ config, bus, logger: process.env.BENCH_LOG ? createLogger('bench-proxy') : silentLogger(), issuer, port: 0 });
const token = await issueServiceToken(issuer, 'reporting-job');
await new Promise((r) => setTimeout(r, 1000));

interface Result { tps: number; latencyMs: number }
/** Runs pgbench as a child process without blocking this process (the proxy and PDP run in it). */
function pgbench(port: number, user: string, password: string, mode: string, clients: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-n', '-S', '-M', mode, '-c', String(clients), '-j', String(Math.min(clients, 2)), '-T', String(seconds), '-h', '127.0.0.1', '-p', String(port), '-U', user, 'demo'], {
      env: { ...process.env, PGPASSWORD: password, PGSSLMODE: port === gateway.port ? 'require' : 'disable' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const tps = /tps = ([\d.]+)/.exec(out)?.[1];
      const lat = /latency average = ([\d.]+) ms/.exec(out)?.[1];
      if (!tps || !lat) reject(new Error(`pgbench failed (port ${port}, ${mode}, ${clients}, exit ${code}): ${out}`));
      else resolve({ tps: Number(tps), latencyMs: Number(lat) });
    });
  });
}

console.log(`bench:pg — pgbench -S, scale 4, ${seconds} s per run (2 cores shared by PostgreSQL, Kafka, the PDP, the proxy and pgbench)`);
console.log('mode      clients  direct tps (ms)     pgbouncer tps (ms)  portcullis tps (ms)  /direct  /pgbouncer');
for (const mode of ['simple', 'prepared']) {
  for (const clients of clientCounts) {
    const direct = await pgbench(pg.port, DEMO_ROLE, demoPassword, mode, clients);
    const viaBouncer = await pgbench(bouncerPort, DEMO_ROLE, demoPassword, mode, clients);
    const viaPortcullis = await pgbench(gateway.port, 'reporting-job', token, mode, clients);
    const cell = (r: Result) => `${r.tps.toFixed(0)} (${r.latencyMs.toFixed(2)})`.padEnd(20);
    console.log(`${mode.padEnd(10)}${String(clients).padEnd(9)}${cell(direct)}${cell(viaBouncer)}${cell(viaPortcullis)} ${(viaPortcullis.tps / direct.tps).toFixed(3).padEnd(8)} ${(viaPortcullis.tps / viaBouncer.tps).toFixed(3)}`);
  }
}
bouncer.kill('SIGTERM');
await gateway.close();
await pdp.stop();
await bus.disconnect();
process.exit(0);
