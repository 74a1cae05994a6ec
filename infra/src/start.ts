/**
 * npm start: the infrastructure, the gateway's services and a demo.
 *
 *  1. the local stack (PostgreSQL, Kafka, schema registry, OpenID provider)
 *  2. demo targets: a database with customer data, an OpenSSH server, a shop
 *     HTTP API and a Kubernetes API double, and portcullis.yaml pointing at them
 *  3. the example policy published (when it changed)
 *  4. the gateway's services as child processes running their build output (npm start builds it
 *     first) with plain node, logs in infra/.data/logs
 *  5. how to try it with psql, ssh, curl and kubectl
 * Ctrl-C stops the gateway and the demo targets; `npm run infra:down` stops the stack.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { busConfigFromEnv, createBus, DEFAULT_ADMIN_PORTS, followTopic, silentLogger } from '@portcullis/kit';
import { publishPolicy } from '@portcullis/policy-decision';
import { components } from './stack.ts';
import { dataDir, repoRoot } from './paths.ts';
import {
  APPROVALS_PORT, DEMO_API_PORT, DEMO_KUBERNETES_PORT, DEMO_SSHD_PORT, HOST, MCP_PORT, PROXY_HTTP_PORT, PROXY_PG_PORT, PROXY_SSH_KEYS_PORT, PROXY_SSH_PORT, QUERY_API_PORT,
} from './ports.ts';
import { seedDemoDatabase } from './demo/seed.ts';
import { DEMO_RESOURCES, writeDemoConfig } from './demo/config.ts';
import { DEMO_SECRETS, demoSecret } from './demo/secrets.ts';
import { demoClientFiles, writeDemoClientFiles } from './demo/clients.ts';
import { tryItText } from './demo/try-it.ts';
import { startSshd } from './targets/sshd.ts';
import { selfSignedCertificate } from './targets/tls.ts';
import { START_PROCESS_NAME, forgetGatewayProcesses, recordGatewayProcess, runningGatewayProcesses } from './gateway-processes.ts';
import { builtEntry, gatewayService } from './gateway-services.ts';
import { logFile, portOpen, waitUntil } from './processes.ts';
import { postgresUrl } from './postgres.ts';

const pad = (s: string): string => s.padEnd(18);
const fail = (what: string, message: string): never => {
  console.error(`${pad(what)} FAILED   ${message}`);
  process.exit(1);
};

const already = runningGatewayProcesses();
if (already.length > 0) fail('gateway', `already running: ${already.join(', ')}. Stop it with Ctrl-C where it runs, or npm run infra:down.`);
forgetGatewayProcesses();
// infra:down stops this process too (its SIGTERM handler stops the children), not only the children.
recordGatewayProcess(START_PROCESS_NAME, process.pid);
const ports: [string, number][] = [
  ['PORTCULLIS_PROXY_PG_PORT', PROXY_PG_PORT], ['PORTCULLIS_SSH_PORT', PROXY_SSH_PORT], ['PORTCULLIS_SSH_KEYS_PORT', PROXY_SSH_KEYS_PORT],
  ['PORTCULLIS_HTTP_PORT', PROXY_HTTP_PORT], ['PORTCULLIS_APPROVALS_PORT', APPROVALS_PORT], ['PORTCULLIS_API_PORT', QUERY_API_PORT],
  ['PORTCULLIS_MCP_PORT', MCP_PORT], ['PORTCULLIS_DEMO_SSHD_PORT', DEMO_SSHD_PORT], ['PORTCULLIS_DEMO_API_PORT', DEMO_API_PORT], ['PORTCULLIS_DEMO_KUBERNETES_PORT', DEMO_KUBERNETES_PORT],
];
for (const [variable, port] of ports) {
  if (await portOpen(port)) fail('gateway', `${HOST}:${port} is already in use; set ${variable} to move it.`);
}
// Each service's admin listener (/healthz, /readyz, /metrics) on its default port (kit's DEFAULT_ADMIN_PORTS).
for (const [service, port] of Object.entries(DEFAULT_ADMIN_PORTS)) {
  if (service !== 'audit-projection' && (await portOpen(port))) fail('gateway', `${HOST}:${port} (the ${service} admin port) is already in use.`);
}

for (const c of components) {
  const detail = await c.start().catch((err: Error) => fail(c.name, err.message));
  console.log(`${pad(c.name)} ready    ${detail}`);
}

// ---------------------------------------------------------------- demo targets and portcullis.yaml
const children: ChildProcess[] = [];
let stopping = false;
const stop = (): void => {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  forgetGatewayProcesses();
  setTimeout(() => process.exit(0), 3000).unref();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

await seedDemoDatabase();
console.log(`${pad('demo database')} ready    database demo, schema shop (customers, orders)`);
const sshd = await startSshd({ dir: demoClientFiles.sshdDir, port: DEMO_SSHD_PORT, logFile: logFile('demo-sshd') }).catch((err: Error) => fail('demo-sshd', err.message));
children.push(sshd.process);
recordGatewayProcess('demo-sshd', sshd.process.pid!);
sshd.process.once('exit', (code) => void (stopping || console.error(`${pad('demo-sshd')} exited (${code}); see ${logFile('demo-sshd')}`)));
console.log(`${pad('demo-sshd')} running  ${HOST}:${DEMO_SSHD_PORT}, OpenSSH as ${sshd.user}, host key ${sshd.hostKeyFingerprint} (resource "${DEMO_RESOURCES.host}")`);
const https = selfSignedCertificate(demoClientFiles.httpsDir);
const configFile = writeDemoConfig({
  sshd: { user: sshd.user, keyFile: sshd.userKeyPath, hostKeyFingerprint: sshd.hostKeyFingerprint },
  apiTokenFile: demoSecret(DEMO_SECRETS.api).file,
  clusterTokenFile: demoSecret(DEMO_SECRETS.cluster).file,
  httpsCert: { cert: https.certFile, key: https.keyFile },
});

// ---------------------------------------------------------------- the example policy
const examplePolicy = join(repoRoot, 'policies', 'examples', 'automation-access.yaml');
const bus = createBus({ config: busConfigFromEnv('portcullis-start'), logger: silentLogger() });
await bus.connect();
const yamlText = readFileSync(examplePolicy, 'utf8');
let current: string | undefined;
const policies = await followTopic(bus, 'policies', (e) => void (current = e.document), { name: 'start' });
await policies.caughtUp;
await policies.stop();
if (current !== yamlText) {
  const published = await publishPolicy({ bus, yamlText, fileName: 'automation-access.yaml', publishedBy: 'npm start' });
  console.log(`${pad('policy')} ${published.ok ? `published version ${published.version}` : 'INVALID'}  policies/examples/automation-access.yaml`);
} else {
  console.log(`${pad('policy')} current  policies/examples/automation-access.yaml`);
}
await bus.disconnect();

// ---------------------------------------------------------------- the gateway's services

// The web console's single-page app is built output, not committed: build it when it is missing or stale.
const consoleBuild = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'services/console/scripts/build-if-stale.ts')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
if (consoleBuild.status !== 0) {
  console.error(`${pad('console app')} FAILED   npm run build -w @portcullis/console`);
  process.exit(1);
}
console.log(`${pad('console app')} ${consoleBuild.stdout.toString().trim().padEnd(8)} services/console/web/dist`);

interface Service {
  name: string;
  /** A gateway service's built entry (plain node), or a demo script run through tsx. */
  main: string;
  /** True once it answers; services that say so over IPC (process.send) are ready then too. */
  ready: () => Promise<boolean>;
  detail: string;
  env?: Record<string, string>;
}
const sshProxyDataDir = join(dataDir, 'proxy-ssh');
/** Generous: on a busy 2-core machine seven processes load their code at once. */
const SERVICE_START_TIMEOUT_MS = 120_000;
const services: Service[] = [
  { name: 'policy-decision', main: builtEntry(gatewayService('policy-decision')), ready: async () => false, detail: 'consuming portcullis.commands' },
  {
    name: 'demo-http-targets',
    main: 'infra/src/demo/http-targets.ts',
    ready: async () => (await portOpen(DEMO_API_PORT)) && portOpen(DEMO_KUBERNETES_PORT),
    detail: `shop API http://${HOST}:${DEMO_API_PORT}/v1 (resource "${DEMO_RESOURCES.api}"), Kubernetes API double http://${HOST}:${DEMO_KUBERNETES_PORT} (resource "${DEMO_RESOURCES.cluster}")`,
  },
  { name: 'proxy-postgres', main: builtEntry(gatewayService('proxy-postgres')), ready: () => portOpen(PROXY_PG_PORT), detail: `${HOST}:${PROXY_PG_PORT} (resource "${DEMO_RESOURCES.database}")` },
  {
    name: 'proxy-ssh',
    main: builtEntry(gatewayService('proxy-ssh')),
    env: { PORTCULLIS_SSH_PORT: String(PROXY_SSH_PORT), PORTCULLIS_SSH_KEYS_PORT: String(PROXY_SSH_KEYS_PORT), PORTCULLIS_SSH_DATA_DIR: sshProxyDataDir },
    ready: () => portOpen(PROXY_SSH_PORT),
    detail: `${HOST}:${PROXY_SSH_PORT} (resource "${DEMO_RESOURCES.host}"), key registration http://${HOST}:${PROXY_SSH_KEYS_PORT}/keys`,
  },
  {
    name: 'proxy-http',
    main: builtEntry(gatewayService('proxy-http')),
    env: { PORTCULLIS_HTTP_PORT: String(PROXY_HTTP_PORT) },
    ready: () => portOpen(PROXY_HTTP_PORT),
    detail: `https://${HOST}:${PROXY_HTTP_PORT}/r/<resource> (resources "${DEMO_RESOURCES.api}", "${DEMO_RESOURCES.cluster}")`,
  },
  { name: 'approvals', main: builtEntry(gatewayService('approvals')), env: { PORTCULLIS_APPROVALS_PORT: String(APPROVALS_PORT) }, ready: () => portOpen(APPROVALS_PORT), detail: `http://${HOST}:${APPROVALS_PORT} (approvals API)` },
  {
    name: 'projections',
    main: builtEntry(gatewayService('replay-projection')),
    // The projections' database: the local cluster's (the projections themselves know no default).
    env: { PORTCULLIS_QUERY_API_ALL: '1', PORTCULLIS_API_PORT: String(QUERY_API_PORT), PORTCULLIS_PG_URL: process.env.PORTCULLIS_PG_URL || postgresUrl('portcullis') },
    ready: () => portOpen(QUERY_API_PORT),
    detail: `audit + replay projections, query API http://${HOST}:${QUERY_API_PORT} (/docs/json)`,
  },
  { name: 'console', main: builtEntry(gatewayService('console')), ready: () => portOpen(8093), detail: 'http://127.0.0.1:8093 (web console)' },
  {
    name: 'mcp',
    main: builtEntry(gatewayService('mcp')),
    env: { PORTCULLIS_MCP_PORT: String(MCP_PORT) },
    ready: () => portOpen(MCP_PORT),
    detail: `http://${HOST}:${MCP_PORT}/mcp (MCP server), http://${HOST}:${MCP_PORT}/mcp/r/${DEMO_RESOURCES.files} (MCP gateway)`,
  },
];

// All start at once (each spends most of its start loading code and waiting for Kafka); their lines print in order.
const env = { ...process.env, PORTCULLIS_CONFIG: configFile };
const started = services.map((s) => {
  const out = openSync(logFile(s.name), 'a');
  const args = s.main.endsWith('.ts') ? ['--import', 'tsx', join(repoRoot, s.main)] : [s.main];
  const child = spawn(process.execPath, args, { env: { ...env, ...s.env }, stdio: ['ignore', out, out, 'ipc'], cwd: repoRoot });
  children.push(child);
  recordGatewayProcess(s.name, child.pid!);
  let settled = false;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`exited (${code}) while starting; see ${logFile(s.name)}`)));
    waitUntil(s.name, async () => settled || s.ready(), SERVICE_START_TIMEOUT_MS, s.name).then(resolve, reject);
  }).then(() => void (settled = true), (err: Error) => ((settled = true), err));
  child.once('exit', (code) => {
    if (settled && !stopping) console.error(`${pad(s.name)} exited (${code}); see ${logFile(s.name)}`);
  });
  return { s, ready };
});
for (const { s, ready } of started) {
  const failed = await ready;
  if (failed) {
    stop();
    fail(s.name, failed.message);
  }
  console.log(`${pad(s.name)} running  ${s.detail}`);
}

writeDemoClientFiles(join(sshProxyDataDir, 'ssh_host_ed25519_key.pub'));
console.log(tryItText());
console.log(`\nAgents speaking MCP: point the client at http://${HOST}:${MCP_PORT}/mcp (tools query, exec, http_request, …) or http://${HOST}:${MCP_PORT}/mcp/r/${DEMO_RESOURCES.files} (an upstream MCP server behind the gateway), with "Authorization: Bearer $(npx portcullis dev token llm-agent)"; see docs/protocols/mcp.md.`);
console.log(`\nThe web console: http://${HOST}:8093 — log in as alice (approver) or carol (auditor) with the password from \`npx portcullis dev password alice\`.`);
