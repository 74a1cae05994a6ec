/**
 * npm run bench:pg — pgbench -S (select-only) in -M simple, extended and
 * prepared at 1 and 32 clients: directly to PostgreSQL, through PgBouncer
 * (the reference pass-through proxy, session pooling) without and with
 * client TLS (client_tls_sslmode=require, the certificate Portcullis uses),
 * and through Portcullis (the example policy; every statement judged and
 * recorded with its verdict in Kafka, acks=all, before it runs). Prints TPS,
 * latency p50/p99 per transaction (from pgbench --log), Portcullis's ratio to
 * PgBouncer-with-TLS and the latency it adds over direct, and how much of a
 * statement's time through Portcullis is the wait for Kafka to acknowledge
 * its command and verdict (p50 of `publishAll`, timed around the bus).
 * For a CPU profile of the proxy: node --cpu-prof --import tsx <this file>.
 *
 * Needs pgbench and PgBouncer (Debian/Ubuntu: apt-get install -y postgresql-client pgbouncer;
 * /usr/sbin/pgbouncer) and openssl; the stack from `npm run infra:up`.
 *   BENCH_SECONDS (default 10) per run; BENCH_CLIENTS (default "1,32"); BENCH_MODES (default "simple,extended,prepared");
 *   BENCH_DECISION edge (default) | remote; BENCH_VERIFIER=1 also runs the PDP (verifying edge verdicts) in this process.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestBus, createLogger, silentLogger } from '@portcullis/kit';
import { freeLoopbackPort, issueServiceToken, postgresConnection } from '@portcullis/infra';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { startPostgresGateway } from '../src/gateway.ts';
import { DEMO_ROLE, demoProxyConfig, generateCertificate, pgbench as runPgbench, preparePgbenchDatabase, requireTools, type PgbenchResult } from './pgbench.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const clientCounts = (process.env.BENCH_CLIENTS ?? '1,32').split(',').map(Number);
const modes = (process.env.BENCH_MODES ?? 'simple,extended,prepared').split(',');
const decision = process.env.BENCH_DECISION === 'remote' ? 'remote' : 'edge';
const withVerifier = decision === 'remote' || process.env.BENCH_VERIFIER === '1';
const issuer = 'http://127.0.0.1:9400';
const pg = postgresConnection();
const PGBOUNCER = '/usr/sbin/pgbouncer';
requireTools([['pgbench', 'apt-get install -y postgresql-client'], ['openssl', 'apt-get install -y openssl']]);
if (!existsSync(PGBOUNCER)) throw new Error(`bench:pg needs PgBouncer at ${PGBOUNCER}: apt-get install -y --no-install-recommends pgbouncer`);

const demoPassword = await preparePgbenchDatabase();

// One certificate, generated now, for PgBouncer's client TLS and for Portcullis.
const workDir = mkdtempSync(join(tmpdir(), 'pcl-bench-pg-'));
const certificate = generateCertificate(workDir);

// PgBouncer, session pooling (prepared statements need it), SCRAM to PostgreSQL; a second one with client TLS required.
writeFileSync(join(workDir, 'userlist.txt'), `"${DEMO_ROLE}" "${demoPassword}"\n`, { mode: 0o600 });
function startBouncer(name: string, port: number, tls: boolean): ReturnType<typeof spawn> {
  writeFileSync(join(workDir, `${name}.ini`), [
    '[databases]', `demo = host=${pg.host} port=${pg.port} dbname=demo`,
    '[pgbouncer]', 'listen_addr = 127.0.0.1', `listen_port = ${port}`, 'auth_type = scram-sha-256', `auth_file = ${join(workDir, 'userlist.txt')}`,
    'pool_mode = session', 'max_client_conn = 200', 'default_pool_size = 40', 'unix_socket_dir =', `logfile = ${join(workDir, `${name}.log`)}`, `pidfile = ${join(workDir, `${name}.pid`)}`,
    ...(tls ? ['client_tls_sslmode = require', `client_tls_cert_file = ${join(workDir, 'cert.pem')}`, `client_tls_key_file = ${join(workDir, 'key.pem')}`] : []),
  ].join('\n'));
  const asPostgres = process.getuid?.() === 0;
  return asPostgres
    ? spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, join(workDir, `${name}.ini`)], { stdio: 'ignore' })
    : spawn(PGBOUNCER, [join(workDir, `${name}.ini`)], { stdio: 'ignore' });
}
spawnSync('chown', ['-R', 'postgres', workDir]);
const bouncerPort = await freeLoopbackPort();
const bouncerTlsPort = await freeLoopbackPort();
const bouncers = [startBouncer('plain', bouncerPort, false), startBouncer('tls', bouncerTlsPort, true)];

// Portcullis: the proxy in this process (and the PDP when it decides remotely or verifies).
const bus = createTestBus('bench-pg', { partitions: 3 });
await bus.connect();
await publishPolicy({ bus, yamlText: readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8'), fileName: 'automation-access.yaml' });
const pdp: PolicyDecisionService | undefined = withVerifier ? await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` }) : undefined;
const config = demoProxyConfig(certificate, { recording: { maxRows: 0, maxBytes: 0 }, decision });
// The wait for Kafka's acknowledgement of each command + verdict, timed around the bus the edge gate uses.
let publishTimes: number[] = [];
const publishAll = bus.publishAll.bind(bus);
bus.publishAll = async (events) => {
  const t0 = performance.now();
  try {
    return await publishAll(events);
  } finally {
    publishTimes.push(performance.now() - t0);
  }
};
const gateway = await startPostgresGateway({ config, bus, logger: process.env.BENCH_LOG ? createLogger('bench-proxy') : silentLogger(), issuer, port: 0 });
const token = await issueServiceToken(issuer, 'reporting-job');
await new Promise((r) => setTimeout(r, 1000));

type Result = PgbenchResult;
/** pgbench as a child process (the proxy runs in this process); latencies from --log, in ms. */
const pgbench = (port: number, user: string, password: string, sslmode: string, mode: string, clients: number): Promise<Result> =>
  runPgbench({ workDir, port, user, password, sslmode, mode, clients, seconds });

console.log(`bench:pg — pgbench -S, scale 4, ${seconds} s per run; Portcullis decides at the ${decision}${pdp ? ' (PDP running in this process)' : ''}; 2 cores shared by PostgreSQL, Kafka, the proxy and pgbench`);
console.log('TPS (p50 / p99 ms)');
console.log(`${'mode'.padEnd(10)}${'clients'.padEnd(9)}${'direct'.padEnd(24)}${'pgbouncer'.padEnd(24)}${'pgbouncer-tls'.padEnd(24)}${'portcullis'.padEnd(24)}/pgb-tls  ${'added p50 / p99 ms'.padEnd(20)}Kafka ack p50 ms`);
for (const mode of modes) {
  for (const clients of clientCounts) {
    const direct = await pgbench(pg.port, DEMO_ROLE, demoPassword, 'disable', mode, clients);
    const viaBouncer = await pgbench(bouncerPort, DEMO_ROLE, demoPassword, 'disable', mode, clients);
    const viaBouncerTls = await pgbench(bouncerTlsPort, DEMO_ROLE, demoPassword, 'require', mode, clients);
    publishTimes = [];
    const viaPortcullis = await pgbench(gateway.port, 'reporting-job', token, 'require', mode, clients);
    const acks = publishTimes.sort((a, b) => a - b);
    const ackP50 = acks[Math.floor(acks.length / 2)] ?? NaN;
    const cell = (r: Result): string => `${r.tps.toFixed(0)} (${r.p50.toFixed(2)} / ${r.p99.toFixed(2)})`.padEnd(24);
    console.log(`${mode.padEnd(10)}${String(clients).padEnd(9)}${cell(direct)}${cell(viaBouncer)}${cell(viaBouncerTls)}${cell(viaPortcullis)}${(viaPortcullis.tps / viaBouncerTls.tps).toFixed(3).padEnd(10)}${`${(viaPortcullis.p50 - direct.p50).toFixed(2)} / ${(viaPortcullis.p99 - direct.p99).toFixed(2)}`.padEnd(20)}${ackP50.toFixed(2)}`);
  }
}
for (const b of bouncers) b.kill('SIGTERM');
await gateway.close();
await pdp?.stop();
await bus.disconnect();
process.exit(0);
