/**
 * Policy what-if over a history recorded through the real gateway: psql →
 * PostgreSQL proxy, ssh → SSH proxy → OpenSSH server, kubectl → HTTP proxy →
 * Kubernetes API double, all into the log; then `portcullis policy whatif`
 * re-decides that history under a draft and reports exactly the commands it
 * would decide differently, per protocol, with the identity and an example.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { createIdentityVerifier, createPool, createTestBus, silentLogger, type Bus } from '@portcullis/kit';
import { buildApp, whatIfRoutes } from '@portcullis/audit-projection';
import { issueHumanToken, issueServiceToken, postgresUrl } from '@portcullis/infra';
import { createTestDatabase, type TestDatabase } from '@portcullis/infra/targets';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';
import { openSsh, sshdResource, startSshGateway, type SshGateway } from '@portcullis/proxy-ssh/test-support';
import { kubectl, startKubernetesGateway, type KubernetesGateway } from '@portcullis/proxy-http/test-support';

const issuer = 'http://127.0.0.1:9400';
const examplePath = fileURLToPath(new URL('../../policies/examples/automation-access.yaml', import.meta.url));
const policy = readFileSync(examplePath, 'utf8');
const cli = fileURLToPath(new URL('../../services/cli/bin/portcullis.js', import.meta.url));

/**
 * The example policy plus three rules, one per protocol: the LLM agent may no
 * longer read orders-prod; the CI job may no longer cat files on hosts; the
 * CI job may now delete pods (which the live policy blocked).
 */
const draft = policy.replace(
  'rules:\n',
  `rules:
  - id: agent-off-orders
    effect: block
    reason: the LLM agent no longer reads production orders
    match:
      identity: { subjects: [llm-agent] }
      resource: { names: [orders-prod] }
      protocol: postgres
      sql: { classes: [read] }
  - id: ci-no-cat
    effect: block
    reason: the CI job no longer reads files on hosts
    match:
      identity: { subjects: [ci-deploy] }
      protocol: ssh
      shell: { programs: [cat] }
  - id: ci-deletes-pods
    effect: allow
    reason: the CI job may delete pods to roll them
    match:
      identity: { subjects: [ci-deploy] }
      protocol: http
      http: { methods: [DELETE], kubernetes: { verbs: [delete], resources: [pods] } }
`,
);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('portcullis policy whatif against a history recorded through psql, ssh and kubectl', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-whatif-'));
  let db: TestDatabase;
  let bus: Bus;
  let pdp: PolicyDecisionService;
  let gateway: PostgresGateway;
  let ssh: SshGateway;
  let cluster: KubernetesGateway;

  before(async () => {
    db = await createTestDatabase('whatif', 'orders-prod');
    await db.table('orders (id int primary key, status text)', "(1, 'open'), (2, 'shipped')");

    bus = createTestBus('whatif-e2e', { partitions: 3 });
    await bus.connect();
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
    const config = parseProxyConfig({
      resources: [{ ...db.resource, tags: ['production'] }],
      listen: { host: '127.0.0.1', port: 0 },
      verdictTimeoutMs: 15_000,
    });
    gateway = await startPostgresGateway({ config, bus, logger: silentLogger(), issuer, port: 0 });
    ssh = await startSshGateway({ bus, resources: (sshd) => [sshdResource(sshd, 'web-1', ['production'])] });
    cluster = await startKubernetesGateway({ bus, resource: 'k8s-prod' });

    // The history. psql as the LLM agent: two reads that ran and one destructive statement that was blocked.
    const agent = await issueServiceToken(issuer, 'llm-agent');
    const psql = (sql: string): Promise<{ code: number; stdout: string; stderr: string }> =>
      new Promise((resolve, reject) => {
        const child = spawn('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'llm-agent', '-d', 'orders-prod', '-c', sql], {
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: agent, PGSSLMODE: 'require', PGCONNECT_TIMEOUT: '10' },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
      });
    const read = await psql('SELECT id, status FROM orders ORDER BY id');
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout.trim(), '1|open\n2|shipped');
    assert.equal((await psql('SELECT count(*) FROM orders')).code, 0);
    const drop = await psql('DROP TABLE orders');
    assert.match(drop.stderr, /blocked/);

    // ssh as the CI job: two inspections that ran, a destructive one that was blocked.
    const ci = await issueServiceToken(issuer, 'ci-deploy');
    const hostname = await openSsh(ssh, 'root@web-1', ['cat /etc/hostname'], { token: ci });
    assert.equal(hostname.code, 0, hostname.stderr);
    assert.equal((await openSsh(ssh, 'root@web-1', ['ls /'], { token: ci })).code, 0);
    const rm = await openSsh(ssh, 'root@web-1', [`rm -rf ${join(dir, 'nothing')}`], { token: ci });
    assert.match(rm.stderr, /blocked by rule ssh-destructive/);

    // kubectl as the CI job: a list that ran and a pod deletion the live policy blocked.
    const pods = await kubectl(cluster, ['get', 'pods'], ci);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /web-1/);
    const del = await kubectl(cluster, ['delete', 'pod', 'web-1', '--wait=false'], ci);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /Forbidden/);
  });
  after(async () => {
    await cluster?.close();
    await ssh?.close();
    await gateway?.close();
    await pdp?.stop();
    await bus?.disconnect();
    await db?.drop();
  });

  const env = (): NodeJS.ProcessEnv => ({ PORTCULLIS_TOPIC_NAMESPACE: bus.names.namespace });

  interface ReportJson {
    source: string;
    report: { compared: number; unchanged: number; identitiesLosingAllAccess: string[]; transitions: { transition: string; count: number; identities: string[]; resources: string[]; examples: { command: string; actual: { ruleIds: string[] }; draft: { ruleIds: string[] } }[] }[] };
  }

  it('a draft with one change per protocol reports exactly those commands, with identity and example', async () => {
    const file = join(dir, 'draft.yaml');
    writeFileSync(file, draft);
    const json = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--json'], env());
    assert.equal(json.code, 0, json.stderr);
    const { report, source } = JSON.parse(json.stdout) as ReportJson;
    assert.equal(source, 'log');
    const changed = report.transitions.reduce((n, t) => n + t.count, 0);
    assert.equal(changed, 4, JSON.stringify(report.transitions, null, 2));
    assert.equal(report.compared - report.unchanged, 4);
    const on = (resource: string) => {
      const found = report.transitions.filter((t) => t.resources.includes(resource));
      assert.equal(found.length, 1, `one transition on ${resource}: ${JSON.stringify(report.transitions)}`);
      assert.deepEqual(found[0]!.resources, [resource], 'a transition per protocol here');
      return found[0]!;
    };

    // psql: the agent's two reads would be blocked; the blocked DROP stays blocked.
    const reads = on('orders-prod');
    assert.match(reads.transition, /^(allow|mask)->block$/);
    assert.equal(reads.count, 2);
    assert.deepEqual(reads.identities, ['llm-agent']);
    assert.deepEqual(reads.examples.map((e) => e.command).sort(), ['SELECT count(*) FROM orders', 'SELECT id, status FROM orders ORDER BY id']);
    assert.ok(reads.examples[0]!.draft.ruleIds.includes('agent-off-orders'));

    // ssh: the cat that ran would be blocked; ls still runs, rm stays blocked.
    const cat = on('web-1');
    assert.equal(cat.transition, 'allow->block');
    assert.equal(cat.count, 1);
    assert.deepEqual(cat.identities, ['ci-deploy']);
    assert.equal(cat.examples[0]!.command, 'cat /etc/hostname');
    assert.deepEqual(cat.examples[0]!.actual.ruleIds, ['automation-ssh-inspect']);
    assert.deepEqual(cat.examples[0]!.draft.ruleIds, ['ci-no-cat']);

    // kubectl: the deletion the live policy refused would now be allowed; the list is unchanged.
    const deletion = on('k8s-prod');
    assert.equal(deletion.transition, 'block->allow');
    assert.equal(deletion.count, 1);
    assert.deepEqual(deletion.identities, ['ci-deploy']);
    assert.match(deletion.examples[0]!.command, /^DELETE \/api\/v1\/namespaces\/default\/pods\/web-1\b/);
    assert.deepEqual(deletion.examples[0]!.actual.ruleIds, []);
    assert.deepEqual(deletion.examples[0]!.draft.ruleIds, ['ci-deletes-pods']);

    // The agent ran only the reads: it would lose all access; the CI job keeps ls and its reads of the cluster.
    assert.deepEqual(report.identitiesLosingAllAccess, ['llm-agent']);

    const text = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--identity', 'llm-agent'], env());
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /(allow|mask)->block\s+2\s+llm-agent\s+orders-prod/);
    assert.match(text.stdout, /now: block {1,2}by .*agent-off-orders/);
    assert.match(text.stdout, /identities that would lose all access: llm-agent/);
    const sshOnly = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--protocol', 'ssh', '--json'], env());
    assert.equal(sshOnly.code, 0, sshOnly.stderr);
    const sshReport = (JSON.parse(sshOnly.stdout) as ReportJson).report;
    assert.equal(sshReport.compared, 3, 'cat, ls and rm');
    assert.deepEqual(sshReport.transitions.map((t) => [t.transition, t.count]), [['allow->block', 1]]);

    const gate = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--fail-on', '*->block'], env());
    assert.equal(gate.code, 1);
    assert.match(gate.stderr, /->block \(2\)/);
    assert.match(gate.stderr, /allow->block \(1\)/);
    assert.match(gate.stderr, /occurred; failing as --fail-on asks/);
    assert.doesNotMatch(gate.stderr, /block->allow/);
    const loosening = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--fail-on', 'block->allow'], env());
    assert.equal(loosening.code, 1);
    assert.match(loosening.stderr, /block->allow \(1\) occurred/);
    const passes = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', '1h', '--fail-on', 'hold->allow,allow->hold'], env());
    assert.equal(passes.code, 0, passes.stderr);
  });

  it('the live policy as the draft reports no change; a window before the history reads nothing', async () => {
    const same = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--since', '1h', '--fail-on', '*->*'], env());
    assert.equal(same.code, 0, same.stderr);
    const compared = /compared (\d+), (\d+) unchanged/.exec(same.stdout);
    assert.ok(compared && Number(compared[1]) >= 8 && compared[1] === compared[2], same.stdout);
    assert.match(same.stdout, /no command would be decided differently/);
    const before = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--since', '2d', '--until', '1d'], env());
    assert.equal(before.code, 0, before.stderr);
    assert.match(before.stdout, /compared 0, 0 unchanged/);
  });

  it('POST /policy/whatif streams progress and the same result as the CLI, for auditors only', async () => {
    const file = join(dir, 'draft-api.yaml');
    writeFileSync(file, draft);
    const since = new Date(Date.now() - 3_600_000).toISOString();
    const cliRun = await run(process.execPath, [cli, 'policy', 'whatif', file, '--since', since, '--json'], env());
    assert.equal(cliRun.code, 0, cliRun.stderr);
    const pool = createPool(postgresUrl('demo'));
    const app = await buildApp({ pool, verifier: createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] }), routes: [whatIfRoutes({ bus })] });
    try {
      const auditor = await issueHumanToken(issuer, 'carol');
      const res = await app.inject({ method: 'POST', url: '/policy/whatif', headers: { authorization: `Bearer ${auditor}` }, payload: { policy: draft, since } });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.headers['content-type'], 'application/x-ndjson');
      const lines = res.body.trim().split('\n').map((l) => JSON.parse(l) as { result?: unknown; progress?: unknown });
      const last = lines.at(-1)!;
      assert.deepEqual(last.result, JSON.parse(cliRun.stdout));

      const badDraft = await app.inject({ method: 'POST', url: '/policy/whatif', headers: { authorization: `Bearer ${auditor}` }, payload: { policy: 'rules: 3', since } });
      assert.equal(badDraft.statusCode, 400);
      assert.equal(badDraft.json().code, 'PCL_ERR_VALIDATION');
      const agent = await issueServiceToken(issuer, 'llm-agent');
      const forbidden = await app.inject({ method: 'POST', url: '/policy/whatif', headers: { authorization: `Bearer ${agent}` }, payload: { policy: draft, since } });
      assert.equal(forbidden.statusCode, 403);
    } finally {
      await app.close();
      await pool.end();
    }
  });

  it('bad input gets a clear error and exit code 2', async () => {
    const badWindow = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--since', 'yesterday-ish'], env());
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /--since "yesterday-ish": write a duration/);
    const badFailOn = await run(process.execPath, [cli, 'policy', 'whatif', examplePath, '--fail-on', 'allow=>block'], env());
    assert.equal(badFailOn.code, 2);
    assert.match(badFailOn.stderr, /--fail-on: "allow=>block" is not a transition/);
    const badPolicy = join(dir, 'bad.yaml');
    writeFileSync(badPolicy, 'apiVersion: portcullis/v1\nrules:\n  - id: x\n    effect: sometimes\n');
    const refused = await run(process.execPath, [cli, 'policy', 'whatif', badPolicy], env());
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /bad\.yaml:4: rules\[0\]\.effect/);
  });
});
