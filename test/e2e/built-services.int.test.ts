/**
 * The gateway as an operator runs it: `npm run build`, then every service's
 * package.json "main" with plain node (no tsx), each with its admin server
 * (/healthz, /readyz, /metrics) on a loopback port apart from its data port.
 * psql goes through the built PostgreSQL proxy; its metrics show the session,
 * the command and the masking; the Grafana dashboard in docs/ uses only
 * metrics these scrapes have; readiness fails when a target credential goes.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { busConfigFromEnv, createBus, eventually, followTopic, silentLogger } from '@portcullis/kit';
import { publishPolicy } from '@portcullis/policy-decision';
import {
  GATEWAY_SERVICES, adminPortOf, builtEntry, isolatedGateway, issueServiceToken, postgresConnection, repoRoot, spawnService, waitReady, type IsolatedGateway,
} from '@portcullis/infra';
import { dashboardMetricNames, scrapedFamilies } from './support/metric-names.ts';

const ISSUER = 'http://127.0.0.1:9400';
/** Generous: on a busy 2-core machine eight processes start at once. */
const READY_TIMEOUT_MS = 180_000;

interface Running {
  name: string;
  child: ChildProcess;
  admin: string;
  output: () => string;
}

const dir = mkdtempSync(join(tmpdir(), 'portcullis-built-'));
const role = `pcl_built_${randomBytes(4).toString('hex')}`;
const password = randomBytes(18).toString('base64url');
const passwordFile = join(dir, 'pg-password');
let admin: pg.Client;
let gateway: IsolatedGateway;
const running: Running[] = [];

/** An in-process OTLP/HTTP receiver: the spans the PostgreSQL proxy exports. */
interface ReceivedSpan { traceId: string; spanId: string; parentSpanId: string; name: string; attributes: Record<string, unknown> }
const spans: ReceivedSpan[] = [];
let receiver: Server;
const hex = (id: string): string => (/^[0-9a-f]+$/.test(id) ? id : Buffer.from(id, 'base64').toString('hex'));
function startReceiver(): Promise<number> {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type']?.startsWith('application/json')) {
        const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: { key: string; value: Record<string, unknown> }[] }[] }[] }[] };
        for (const rs of payload.resourceSpans) for (const ss of rs.scopeSpans) for (const sp of ss.spans) {
          spans.push({
            traceId: hex(sp.traceId), spanId: hex(sp.spanId), parentSpanId: sp.parentSpanId ? hex(sp.parentSpanId) : '', name: sp.name,
            attributes: Object.fromEntries((sp.attributes ?? []).map((a) => [a.key, Object.values(a.value)[0]])),
          });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  return new Promise((resolve) => receiver.listen(0, '127.0.0.1', () => resolve((receiver.address() as AddressInfo).port)));
}
let receiverPort = 0;

before(async () => {
  const build = spawnSync(process.execPath, [join(repoRoot, 'infra/build.mjs')], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(build.status, 0, `npm run build's service bundles failed:\n${build.stderr}`);

  const c = postgresConnection();
  admin = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`);
  await admin.query(`ALTER ROLE ${role} IN DATABASE demo SET search_path = ${role}`);
  await admin.query(`CREATE TABLE ${role}.customers (id int primary key, name text, email text)`);
  await admin.query(`INSERT INTO ${role}.customers VALUES (1, 'Jane Roe', 'jane.roe@example.com')`);
  await admin.query(`ALTER TABLE ${role}.customers OWNER TO ${role}`);
  writeFileSync(passwordFile, password, { mode: 0o600 });
  gateway = isolatedGateway(dir, { pgUser: role, pgDatabase: 'demo', pgPasswordFile: passwordFile });
  receiverPort = await startReceiver();

  // The example policy, in the services' topic namespace.
  const bus = createBus({ config: busConfigFromEnv('test-built'), logger: silentLogger(), namespace: gateway.namespace, partitions: 1 });
  try {
    await bus.connect();
    const policy = readFileSync(join(repoRoot, 'policies/examples/automation-access.yaml'), 'utf8');
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
  } finally {
    await bus.disconnect();
  }
});

after(async () => {
  await Promise.all(running.map(({ child }) => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
  })));
  await admin?.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1`, [role]).catch(() => undefined);
  await admin?.query(`DROP SCHEMA IF EXISTS ${role} CASCADE`).catch(() => undefined);
  await admin?.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  await admin?.end();
  rmSync(dir, { recursive: true, force: true });
  receiver?.close();
});

const get = async (url: string): Promise<{ status: number; type: string; body: string }> => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
};
const serviceNamed = (name: string): Running => running.find((r) => r.name === name)!;

test('every service runs from its build output with plain node and becomes ready on its admin port', async () => {
  for (const service of GATEWAY_SERVICES) {
    // The PostgreSQL proxy exports its traces to the in-process receiver; the others run with tracing off.
    const tracing = service.name === 'proxy-postgres' ? { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`, OTEL_BSP_SCHEDULE_DELAY: '100' } : {};
    const child = spawnService(service, 'node', { env: { ...gateway.envOf(service.name), ...tracing }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const port = await adminPortOf(child, READY_TIMEOUT_MS).catch((err: Error) => assert.fail(`${service.name}: ${err.message}`));
    running.push({ name: service.name, child, admin: `http://127.0.0.1:${port}`, output: () => output });
  }
  // The command line is plain node and the build output: no tsx loader in the process.
  for (const r of running) {
    const cmdline = readFileSync(`/proc/${r.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(cmdline.slice(1), [builtEntry(GATEWAY_SERVICES.find((s) => s.name === r.name)!)], `${r.name} runs ${cmdline.join(' ')}`);
  }
  await Promise.all(running.map((r) => waitReady(r.admin, READY_TIMEOUT_MS).catch((err: Error) => assert.fail(`${r.name}: ${err.message}\n${r.output().slice(-3000)}`))));

  for (const r of running) {
    const health = await get(`${r.admin}/healthz`);
    assert.equal(health.status, 200, r.name);
    assert.equal(JSON.parse(health.body).service, r.name);
    const ready = JSON.parse((await get(`${r.admin}/readyz`)).body) as { ready: boolean; checks: { name: string; ok: boolean }[] };
    assert.equal(ready.ready, true, `${r.name}: ${JSON.stringify(ready)}`);
    const checks = ready.checks.map((c) => c.name);
    for (const expected of ['kafka', 'consumers', 'registry']) assert.ok(checks.includes(expected), `${r.name} checks ${expected}: ${checks.join(', ')}`);
    if (r.name.startsWith('proxy-')) assert.ok(checks.includes('policy-state') && checks.includes('target-catalog'), `${r.name}: ${checks.join(', ')}`);
    if (r.name === 'policy-decision') assert.ok(checks.includes('policy-state'), checks.join(', '));
    if (r.name.endsWith('-projection')) assert.ok(checks.includes('database') && checks.some((c) => c.startsWith('projection:')), checks.join(', '));
    const metrics = await get(`${r.admin}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.type, /^text\/plain/);
    assert.ok(metrics.body.includes('# TYPE portcullis_process_resident_memory_bytes gauge'), r.name);
    assert.equal((await get(`${r.admin}/nothing`)).status, 404);
  }
});

test('psql through the built PostgreSQL proxy shows up in its metrics: session, command effect, masking, Kafka publishes', async () => {
  const proxy = serviceNamed('proxy-postgres');
  const listening = /"port":(\d+)[^\n]*PostgreSQL proxy listening/.exec(proxy.output());
  assert.ok(listening, proxy.output().slice(-2000));
  const token = await issueServiceToken(ISSUER, 'ci-deploy');
  const psql = spawn('psql', [`host=127.0.0.1 port=${listening[1]} dbname=${gateway.database} user=ci-deploy sslmode=disable`, '-Atc', 'SELECT name, email FROM customers'], {
    env: { PATH: process.env.PATH ?? '/usr/bin', PGPASSWORD: token, PGCONNECT_TIMEOUT: '30' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  psql.stdout.on('data', (d: Buffer) => (out += d.toString()));
  psql.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => psql.once('exit', r));
  assert.equal(code, 0, out);
  assert.equal(out.trim(), 'Jane Roe|j***@example.com', 'the e-mail arrives masked');

  const sample = (body: string, name: string, labels: Record<string, string>): number | undefined => {
    for (const line of body.split('\n')) {
      if (!line.startsWith(`${name}{`)) continue;
      const labelText = line.slice(name.length + 1, line.lastIndexOf('}'));
      if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return undefined;
  };
  const resource = gateway.database;
  const body = await eventually('the session to be closed in the metrics', async () => {
    const text = (await get(`${proxy.admin}/metrics`)).body;
    return sample(text, 'portcullis_sessions_active', { protocol: 'postgres', resource }) === 0 ? text : undefined;
  }, 20_000);
  assert.equal(sample(body, 'portcullis_sessions_opened_total', { protocol: 'postgres', resource }), 1);
  assert.equal(sample(body, 'portcullis_commands_total', { protocol: 'postgres', resource, effect: 'mask' }), 1);
  assert.ok((sample(body, 'portcullis_masked_values_total', { detector: 'field' }) ?? 0) >= 1, 'the masked column is counted');
  assert.ok((sample(body, 'portcullis_decision_seconds_count', { protocol: 'postgres' }) ?? 0) >= 1);
  assert.ok((sample(body, 'portcullis_record_seconds_count', { event: 'SessionOpened' }) ?? 0) >= 1);
  assert.ok((sample(body, 'portcullis_kafka_publish_seconds_count', { topic: 'portcullis.session-events' }) ?? 0) >= 1);
  assert.ok(!body.includes('jane.roe') && !body.includes(token.slice(0, 20)), 'metrics carry no values and no token');
});

test('the command\'s trace is exported over OTLP (session → accept, authenticate, command → decide, execute, record) and its CommandRequested carries the trace id', async () => {
  const bus = createBus({ config: busConfigFromEnv('test-built-trace'), logger: silentLogger(), namespace: gateway.namespace, partitions: 1 });
  try {
    const requested: { commandId: string; traceId?: string; sql?: string }[] = [];
    const follower = await followTopic(bus, 'commands', (e) => void requested.push({ commandId: e.commandId, ...(e.traceId ? { traceId: e.traceId } : {}), ...(e.command.kind === 'sql' ? { sql: e.command.text } : {}) }), { name: 'built-trace' });
    await follower.caughtUp;
    await follower.stop();
    const select = requested.find((c) => c.sql?.includes('FROM customers'));
    assert.ok(select, JSON.stringify(requested));
    assert.match(select.traceId ?? '', /^[0-9a-f]{32}$/, 'CommandRequested.traceId');
    const trace = await eventually('the command\'s spans at the receiver', () => {
      const ofTrace = spans.filter((s) => s.traceId === select.traceId);
      const names = new Set(ofTrace.map((s) => s.name));
      return ['session', 'accept', 'authenticate', 'command', 'decide', 'execute', 'record'].every((n) => names.has(n)) ? ofTrace : undefined;
    }, 20_000);
    const command = trace.find((s) => s.name === 'command' && s.attributes['portcullis.command_id'] === select.commandId)!;
    assert.ok(command, 'the command span names its commandId');
    assert.equal(command.attributes['portcullis.effect'], 'mask');
    const session = trace.find((s) => s.name === 'session')!;
    assert.equal(command.parentSpanId, session.spanId, 'the command span is under the session span');
    for (const arrival of ['accept', 'authenticate']) assert.equal(trace.find((s) => s.name === arrival)!.parentSpanId, session.spanId, `${arrival} is under the session`);
    for (const child of ['decide', 'execute']) assert.equal(trace.find((s) => s.name === child)!.parentSpanId, command.spanId, `${child} is under the command`);
    assert.ok(trace.some((s) => s.name === 'record' && s.parentSpanId === command.spanId && s.attributes['portcullis.event'] === 'CommandCompleted'));
    assert.ok(!JSON.stringify(spans).includes('customers'), 'spans carry no command text');
  } finally {
    await bus.disconnect();
  }
});

test('every metric the Grafana dashboard uses is in a scrape of the running services', async () => {
  const scraped = new Set<string>();
  for (const r of running) for (const f of scrapedFamilies((await get(`${r.admin}/metrics`)).body)) scraped.add(f);
  const used = dashboardMetricNames(JSON.parse(readFileSync(join(repoRoot, 'docs/grafana/portcullis-dashboard.json'), 'utf8')));
  assert.ok(used.length >= 10, `the dashboard uses ${used.length} metrics`);
  const missing = used.filter((m) => !scraped.has(m));
  assert.deepEqual(missing, [], `dashboard metrics missing from every scrape: ${missing.join(', ')}`);
});

test('readiness fails while a target credential is unreadable and names the resource, not the secret', async () => {
  const ssh = serviceNamed('proxy-ssh');
  const credential = join(dir, 'ssh-credential');
  const secret = readFileSync(credential, 'utf8');
  renameSync(credential, `${credential}.away`);
  try {
    const res = await get(`${ssh.admin}/readyz`);
    assert.equal(res.status, 503);
    const report = JSON.parse(res.body) as { ready: boolean; checks: { name: string; ok: boolean; detail?: string }[] };
    const catalog = report.checks.find((c) => c.name === 'target-catalog')!;
    assert.equal(catalog.ok, false);
    assert.match(catalog.detail!, /gw-host/);
    assert.ok(!res.body.includes(secret));
    assert.equal((await get(`${ssh.admin}/healthz`)).status, 200, 'still alive: liveness is not readiness');
  } finally {
    renameSync(`${credential}.away`, credential);
  }
  assert.equal((await get(`${ssh.admin}/readyz`)).status, 200);
});
