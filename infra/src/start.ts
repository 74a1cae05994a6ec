/**
 * npm start: the infrastructure, the gateway's services and a demo.
 *
 *  1. the local stack (PostgreSQL, Kafka, schema registry, OpenID provider)
 *  2. a demo database with customer data, and portcullis.yaml pointing at it
 *  3. the example policy published (when it changed)
 *  4. the services as child processes, logs in infra/.data/logs
 *  5. how to try it with psql
 * Ctrl-C stops the services; `npm run infra:down` stops the stack.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { busConfigFromEnv, createBus, followTopic, silentLogger } from '@portcullis/kit';
import { publishPolicy } from '@portcullis/policy-decision';
import { components } from './stack.ts';
import { logDir, repoRoot } from './paths.ts';
import { seedDemoDatabase } from './demo/seed.ts';
import { DEMO_PG_PORT, writeDemoConfig } from './demo/config.ts';
import { portOpen, waitUntil } from './processes.ts';
import { postgresUrl } from './postgres.ts';

const pad = (s: string): string => s.padEnd(18);

for (const c of components) {
  const detail = await c.start().catch((err: Error) => {
    console.error(`${pad(c.name)} FAILED   ${err.message}`);
    process.exit(1);
  });
  console.log(`${pad(c.name)} ready    ${detail}`);
}

await seedDemoDatabase();
const configFile = writeDemoConfig();
console.log(`${pad('demo database')} ready    database demo, schema shop (customers, orders)`);

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

// The web console's single-page app is built output, not committed: build it when it is missing or stale.
const consoleBuild = spawnSync(process.execPath, ['--import', 'tsx', join(repoRoot, 'services/console/scripts/build-if-stale.ts')], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
if (consoleBuild.status !== 0) {
  console.error(`${pad('console app')} FAILED   npm run build -w @portcullis/console`);
  process.exit(1);
}
console.log(`${pad('console app')} ${consoleBuild.stdout.toString().trim().padEnd(8)} services/console/web/dist`);

interface Service {
  name: string;
  main: string;
  /** Resolves when it answers. */
  ready: () => Promise<boolean>;
  detail: string;
  env?: Record<string, string>;
}
const services: Service[] = [
  { name: 'policy-decision', main: 'services/policy-decision/src/main.ts', ready: async () => true, detail: 'consuming portcullis.commands' },
  { name: 'proxy-postgres', main: 'services/proxy-postgres/src/main.ts', ready: () => portOpen(DEMO_PG_PORT), detail: `127.0.0.1:${DEMO_PG_PORT} (resource "demo")` },
  { name: 'approvals', main: 'services/approvals/src/main.ts', ready: () => portOpen(8091), detail: 'http://127.0.0.1:8091 (approvals API)' },
  {
    name: 'projections',
    main: 'services/replay-projection/src/main.ts',
    // The projections' database: the local cluster's (the projections themselves know no default).
    env: { PORTCULLIS_QUERY_API_ALL: '1', PORTCULLIS_PG_URL: process.env.PORTCULLIS_PG_URL || postgresUrl('portcullis') },
    ready: () => portOpen(8090),
    detail: 'audit + replay projections, query API http://127.0.0.1:8090 (/docs/json)',
  },
  { name: 'console', main: 'services/console/src/server/main.ts', ready: () => portOpen(8093), detail: 'http://127.0.0.1:8093 (web console)' },
];

const children: ChildProcess[] = [];
const env = { ...process.env, PORTCULLIS_CONFIG: configFile };
for (const s of services) {
  const out = openSync(join(logDir, `${s.name}.log`), 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, s.main)], { env: { ...env, ...s.env }, stdio: ['ignore', out, out], cwd: repoRoot });
  children.push(child);
  child.once('exit', (code) => {
    if (!stopping) console.error(`${pad(s.name)} exited (${code}); see ${join(logDir, `${s.name}.log`)}`);
  });
  await waitUntil(s.name, s.ready, 60_000, s.name);
  console.log(`${pad(s.name)} running  ${s.detail}`);
}

console.log(`
Portcullis is running. Try it as the demo LLM agent (a real token from the local OpenID provider):

  export PGPASSWORD="$(npx portcullis dev token llm-agent)"
  psql "host=127.0.0.1 port=${DEMO_PG_PORT} dbname=demo user=llm-agent sslmode=require" \\
       -c "SELECT name, email, card_number FROM customers"        # personal data masked
  psql "host=127.0.0.1 port=${DEMO_PG_PORT} dbname=demo user=llm-agent sslmode=require" \\
       -c "DROP TABLE customers"                                   # blocked by rule automation-no-destructive

A write to production is held until a DBA approves it:

  psql "host=127.0.0.1 port=${DEMO_PG_PORT} dbname=demo user=llm-agent sslmode=require" \\
       -c "UPDATE orders SET status = 'refunded' WHERE id = 1"     # waits, printing the approval id
  PORTCULLIS_TOKEN="$(npx portcullis dev token alice)" npx portcullis approvals grant <approval-id>

The same in the browser: http://127.0.0.1:8093 — log in as alice (approver) or carol (auditor)
with the password from \`npx portcullis dev password alice\`.

What happened, as an auditor sees it (carol is in the auditors group):

  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis audit sessions
  PORTCULLIS_TOKEN="$(npx portcullis dev token carol)" npx portcullis replay <session-id>

Logs: infra/.data/logs/   Stop: Ctrl-C (services), then npm run infra:down (stack).`);

let stopping = false;
const stop = (): void => {
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  setTimeout(() => process.exit(0), 3000).unref();
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
