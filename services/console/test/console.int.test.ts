/**
 * The web console in real Chromium against the real stack: the local OpenID
 * provider (its browser login, started from a temp data dir), Kafka, the PDP,
 * the PostgreSQL proxy with psql, the approvals service, the audit and replay
 * projections and the query API, and the console serving its built app.
 *
 *  - alice logs in, sees a held UPDATE from psql in her inbox, approves it
 *    with a comment, and psql prints UPDATE 1;
 *  - carol (auditor) filters sessions by identity, opens the session, sees the
 *    grant with its comment, masked rows in the SQL transcript and the
 *    integrity badge; an interactive session of the OpenSSH client through
 *    the SSH proxy plays in asciinema-player; the policy playground blocks a
 *    DROP for llm-agent;
 *  - bob (not an auditor) gets no Sessions page and a 403 from its API.
 * Screenshots of each page go to services/console/test-output/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import axe from 'axe-core';
import { createIdentityVerifier, createTestBus, eventually, silentLogger } from '@portcullis/kit';
import { devPassword, freeLoopbackPort, issueServiceToken, postgresUrl, startOidcProvider, type OidcProviderHandle } from '@portcullis/infra';
import { createTestDatabase, type TestDatabase } from '@portcullis/infra/targets';
import { publishPolicy, startPolicyDecisionService, evolvePolicyState, initialPolicyState, type PolicyDecisionService, type PolicyState } from '@portcullis/policy-decision';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';
import { adminRoutes, buildApp as buildQueryApp, startAuditProjection } from '@portcullis/audit-projection';
import { replayRoutes, startReplayProjection } from '@portcullis/replay-projection';
import { sshInvocation, sshdResource, startSshGateway, type SshGateway } from '@portcullis/proxy-ssh/test-support';
import { kubectl, startKubernetesGateway, type KubernetesGateway } from '@portcullis/proxy-http/test-support';
import { createPool, followPresence, followRevocations, followTopic, schemaIdent, type RevocationList } from '@portcullis/kit';
import { buildConsoleApp, createOidcClient, WEB_DIST } from '../src/server/index.ts';

const CHROMIUM = '/usr/bin/chromium';
const policy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const outputDir = fileURLToPath(new URL('../test-output/', import.meta.url));

describe('the web console in Chromium', { skip: !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed` : !existsSync(join(WEB_DIST, 'index.html')) ? 'the console is not built (npm run build -w @portcullis/console)' : false }, () => {
  const suffix = randomBytes(4).toString('hex');
  const auditSchema = `t_console_audit_${suffix}`;
  const replaySchema = `t_console_replay_${suffix}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  let oidc: OidcProviderHandle;
  let db: TestDatabase;
  let gateway: PostgresGateway;
  let ssh: SshGateway;
  let cluster: KubernetesGateway;
  let approvals: ApprovalsService;
  let consoleUrl: string;
  let browser: BrowserContext;
  let revocations: RevocationList;
  let page: Page;
  const consoleErrors: string[] = [];

  before(async () => {
    mkdirSync(outputDir, { recursive: true });
    // The provider and the browser start while the rest is set up.
    const oidcDir = await mkdtemp(join(tmpdir(), 'portcullis-console-oidc-'));
    const oidcPort = await freeLoopbackPort();
    const issuer = `http://127.0.0.1:${oidcPort}`;
    const oidcStarting = startOidcProvider({ port: oidcPort, dataDir: oidcDir });
    cleanup.push(() => rm(oidcDir, { recursive: true, force: true }), async () => (await oidcStarting).stop());
    const profile = await mkdtemp(join(tmpdir(), 'portcullis-console-chromium-'));
    const browserStarting = chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    cleanup.push(() => rm(profile, { recursive: true, force: true }));
    const verifier = createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] });

    db = await createTestDatabase('console', 'orders-prod');
    cleanup.push(() => db.drop());
    await db.table('orders (id int primary key, status text)', "(1, 'stale'), (2, 'open')");
    await db.table('customers (id int primary key, name text, email text)', "(1, 'Jane Roe', 'jane.roe@example.com')");

    const bus = createTestBus('console-e2e', { partitions: 1 });
    await bus.connect();
    cleanup.push(() => bus.disconnect());
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    const pdp: PolicyDecisionService = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
    cleanup.push(() => pdp.stop());
    approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier, port: 0 });
    cleanup.push(() => approvals.stop());
    gateway = await startPostgresGateway({
      config: parseProxyConfig({
        resources: [{ ...db.resource, tags: ['production'] }],
        listen: { host: '127.0.0.1', port: 0 },
        verdictTimeoutMs: 60_000,
      }),
      bus, logger: silentLogger(), issuer, port: 0,
    });
    cleanup.push(() => gateway.close());
    ssh = await startSshGateway({ bus, issuer, resources: (sshd) => [sshdResource(sshd, 'web-1', ['staging'])] });
    cleanup.push(() => ssh.close());
    cluster = await startKubernetesGateway({ bus, issuer, resource: 'k8s-prod' });
    cleanup.push(() => cluster.close());

    const pool = createPool(postgresUrl('portcullis'), 4);
    cleanup.push(async () => {
      await pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(auditSchema)} CASCADE`);
      await pool.query(`DROP SCHEMA IF EXISTS ${schemaIdent(replaySchema)} CASCADE`);
      await pool.end();
    });
    const audit = await startAuditProjection({ bus, pool, logger: silentLogger(), schema: auditSchema });
    cleanup.push(() => audit.stop());
    const replay = await startReplayProjection({ bus, pool, logger: silentLogger(), schema: replaySchema });
    cleanup.push(() => replay.stop());
    let policyState: PolicyState = initialPolicyState;
    const policies = await followTopic(bus, 'policies', (e) => void (policyState = evolvePolicyState(policyState, e)), { name: 'console-test-policy' });
    await policies.caughtUp;
    cleanup.push(() => policies.stop());
    // Access (revocation, live sessions): alice (group dba) is the admin here.
    revocations = await followRevocations(bus, 'console-test-revocations');
    cleanup.push(() => revocations.stop());
    const presence = await followPresence(bus, 'console-test-presence');
    cleanup.push(() => presence.stop());
    const query = await buildQueryApp({
      pool, verifier, schema: auditSchema, policyState: () => policyState, adminGroup: 'dba',
      routes: [replayRoutes({ pool, schema: replaySchema }), adminRoutes({ bus, issuer, revocations, presence })],
    });
    await query.listen({ port: 0, host: '127.0.0.1' });
    cleanup.push(() => query.close());

    const consolePort = await freeLoopbackPort();
    consoleUrl = `http://127.0.0.1:${consolePort}`;
    const consoleApp = await buildConsoleApp({
      oidc: createOidcClient({ issuer, clientId: 'portcullis-console', redirectUri: `${consoleUrl}/auth/callback`, resource: 'urn:portcullis' }),
      verifier,
      upstreams: { approvals: approvals.url!, query: `http://127.0.0.1:${(query.server.address() as { port: number }).port}` },
      publicUrl: consoleUrl,
      staticDir: WEB_DIST,
      policyState: () => policyState,
      adminGroup: 'dba',
    });
    await consoleApp.listen({ port: consolePort, host: '127.0.0.1' });
    cleanup.push(() => consoleApp.close());
    // Closed first: the browser holds the inbox's event stream open.
    cleanup.push(async () => (await browserStarting).close());

    oidc = await oidcStarting;
    browser = await browserStarting;
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
    page.on('pageerror', (e) => void consoleErrors.push(e.message));
  });

  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  function psql(sql: string, token: string) {
    const child = spawn('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'ci-deploy', '-d', 'orders-prod', '-c', sql], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: token, PGSSLMODE: 'require', PGOPTIONS: '-c portcullis.reason=ticket-OPS-7' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { done, stderr: () => stderr };
  }

  async function logIn(username: string): Promise<void> {
    await page.goto(`${consoleUrl}/`);
    await page.getByRole('link', { name: 'Log in with your identity provider' }).click();
    await page.getByLabel('Person').selectOption(username);
    await page.getByLabel('Password').fill(await devPassword(oidc.issuer, username));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor({ timeout: 15_000 }).catch(async (err: Error) => {
      await shot(`failed-login-${username}`);
      throw new Error(`${username} is not logged in: ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`, { cause: err });
    });
  }

  async function logOut(): Promise<void> {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in with your identity provider' }).waitFor();
  }

  const shot = (name: string) => page.screenshot({ path: join(outputDir, `${name}.png`), fullPage: true });

  /** axe-core on the page as it is: no serious or critical violation. Evaluated over CDP, so the page's CSP stays as served. */
  async function accessible(name: string): Promise<void> {
    await page.evaluate(axe.source);
    // Runs in the page: globalThis is its window.
    const violations = await page.evaluate(async () => {
      const inPage = globalThis as unknown as { axe: typeof axe; document: unknown };
      const result = await inPage.axe.run(inPage.document as never, { resultTypes: ['violations'] });
      return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
    });
    assert.deepEqual(violations, [], `accessibility of the ${name} page`);
  }

  function noConsoleErrors(): void {
    assert.deepEqual(consoleErrors.splice(0), [], 'no errors in the browser console');
  }

  let heldSessionCommand = '';

  it('alice approves a held UPDATE from psql in her inbox, with a comment, and psql prints UPDATE 1', async () => {
    const ci = await issueServiceToken(oidc.issuer, 'ci-deploy');
    // A read first, in its own session: masked rows for the transcript below.
    const read = await psql('SELECT name, email FROM customers', ci).done;
    assert.equal(read.code, 0, read.stderr);
    assert.doesNotMatch(read.stdout, /jane\.roe@example\.com/);

    await logIn('alice');
    heldSessionCommand = "UPDATE orders SET status = 'refunded' WHERE id = 1";
    const run = psql(heldSessionCommand, ci);
    await eventually('the hold notice', () => /for approval [0-9a-f-]{36}/.test(run.stderr()) || undefined, 30_000);
    const card = page.getByRole('article', { name: /Approval for ci-deploy on orders-prod/ });
    const shownAt = Date.now();
    await card.getByText(heldSessionCommand).waitFor({ timeout: 5000 });
    assert.ok(Date.now() - shownAt < 2500, 'the held command appears in the inbox within about 2 s, without a reload');
    await card.getByText('ticket-OPS-7').waitFor();
    await card.getByText('automation-write-production').waitFor();
    await shot('inbox');
    await accessible('inbox');
    await card.getByLabel('Comment').fill('refund approved, ticket OPS-7');
    await card.getByRole('button', { name: 'Approve' }).click();
    const r = await run.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'UPDATE 1');
    const rows = await db.admin(`SELECT id, status FROM ${db.schema}.orders ORDER BY id`);
    assert.deepEqual(rows.rows.map((x) => `${x.id} ${x.status}`), ['1 refunded', '2 open']);
    await page.getByText('Nothing is waiting for a decision.').waitFor();
    await logOut();
    noConsoleErrors();
  });

  it('carol filters sessions, replays the held one with its grant, sees masked rows and the integrity badge, plays a live SSH session, sees an HTTP response, and the playground blocks a DROP for llm-agent', async () => {
    await logIn('carol');
    await page.getByRole('link', { name: 'Sessions' }).click();
    await page.getByLabel('Identity').fill('ci-deploy');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/identity=ci-deploy/);
    // The projections follow Kafka: the sessions arrive within moments.
    await eventually('two sessions listed', async () => {
      await page.reload();
      return (await page.locator('tbody tr').count()) >= 2 || undefined;
    }, 20_000);
    await shot('sessions');
    await accessible('sessions');
    const rowsText = await page.locator('tbody').innerText();
    assert.match(rowsText, /orders-prod/);
    assert.match(rowsText, /integrity ok/);

    // The held DELETE's session: its command, the verdict and the approver's comment.
    await page.locator('tbody tr').first().getByRole('link').click();
    await page.getByText(heldSessionCommand).waitFor();
    await page.getByText('refund approved, ticket OPS-7').first().waitFor();
    await page.getByText('integrity ok').first().waitFor();
    await shot('session-held');

    // The read's session: masked values in the transcript.
    await page.goBack();
    await page.locator('tbody tr').nth(1).getByRole('link').click();
    await page.getByText('SELECT name, email FROM customers').waitFor();
    const table = page.locator('table.result');
    await table.waitFor();
    const cells = await table.innerText();
    assert.match(cells, /Jane Roe/);
    assert.doesNotMatch(cells, /jane\.roe@example\.com/, 'the recorded rows are the masked ones');
    assert.match(cells, /\*\*\*/);
    await shot('session-masked');
    await accessible('session');

    // A live interactive session through the SSH proxy (the OpenSSH client with a terminal) plays in asciinema-player.
    const marker = `deploy finished ${suffix}`;
    await sshTerminalSession(await issueServiceToken(oidc.issuer, 'llm-agent'), marker);
    await page.getByRole('link', { name: 'Sessions', exact: true }).click();
    await page.getByLabel('Identity').fill('llm-agent');
    await page.getByLabel('Protocol').selectOption('ssh');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/protocol=ssh/);
    await eventually('the SSH session listed', async () => {
      await page.reload();
      return (await page.locator('tbody tr').count()) === 1 || undefined;
    }, 20_000);
    assert.match(await page.locator('tbody').innerText(), /web-1/);
    await page.locator('tbody tr').first().getByRole('link').click();
    await page.getByText(`cat ${motd}`).first().waitFor();
    await page.locator('.ap-player').waitFor();
    await page.locator('.ap-player').click();
    let played = '';
    await eventually('the recording played', async () => {
      played = await page.locator('.terminal').innerText();
      return played.includes(marker) && /blocked by rule ssh-destructive/.test(played) ? true : undefined;
    }, 30_000).catch(async (err: Error) => {
      await shot('failed-ssh-replay');
      throw new Error(`${err.message}; the player showed: ${JSON.stringify(played)}`, { cause: err });
    });
    await shot('session-ssh');
    await accessible('SSH session');

    // An HTTP session: kubectl through the HTTP proxy; the session page shows the request and the recorded response.
    // --raw takes the path from the host on, past the kubeconfig's /r/<resource> prefix.
    const pod = await kubectl(cluster, ['get', '--raw', '/r/k8s-prod/api/v1/namespaces/default/pods/web-1'], await issueServiceToken(oidc.issuer, 'llm-agent'));
    assert.equal(pod.code, 0, pod.stderr);
    await page.getByRole('link', { name: 'Sessions', exact: true }).click();
    await page.getByLabel('Protocol').selectOption('http');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/protocol=http/);
    // kubectl makes more than the one request on its connection (one session, a command each): open the session with the pod's.
    const podRequest = 'GET /api/v1/namespaces/default/pods/web-1';
    await eventually('the HTTP session of the pod listed and opened', async () => {
      await page.goto(`${consoleUrl}/sessions?protocol=http`);
      await page.locator('tbody tr').first().waitFor({ timeout: 5000 }).catch(() => undefined);
      const links = await page.locator('tbody tr a').evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href));
      for (const href of links) {
        await page.goto(href);
        if (await page.getByText(podRequest).first().waitFor({ timeout: 5000 }).then(() => true, () => false)) return true;
      }
      return undefined;
    }, 30_000);
    // The session shows each request's recorded response; the pod's is the one naming web-1.
    const response = page.locator('.http-response').filter({ hasText: '"web-1"' });
    await response.waitFor();
    assert.match(await response.innerText(), /Response 200[\s\S]*"name":\s*"web-1"/);
    await shot('session-http');
    await accessible('HTTP session');

    await page.getByRole('link', { name: 'Policy' }).click();
    await page.getByText('automation-no-destructive').first().waitFor();
    await page.getByLabel('Identity').fill('llm-agent');
    await page.getByLabel('Kind').selectOption('service');
    await page.getByLabel('Groups').fill('agents');
    await page.getByLabel('Resource', { exact: true }).fill('orders-prod');
    await page.getByLabel('Resource tags').fill('production');
    await page.getByLabel('Command').fill('DROP TABLE customers');
    await page.getByRole('button', { name: 'Decide' }).click();
    const decision = page.getByTestId('decision');
    await decision.waitFor();
    const text = await decision.innerText();
    assert.match(text, /Effect: block/);
    assert.match(text, /automation-no-destructive/);
    await shot('policy');
    await accessible('policy');
    // The same page at a phone's width.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole('link', { name: 'Approvals' }).click();
    await page.getByText('Nothing is waiting for a decision.').waitFor();
    await shot('inbox-phone');
    await page.setViewportSize({ width: 1280, height: 900 });
    await logOut();
    noConsoleErrors();
  });

  it('alice (admin) ends a live psql session and revokes an identity on the Access page', async () => {
    const session = spawn('psql', ['-X', '-At', '-h', '127.0.0.1', '-p', String(gateway.port), '-U', 'ci-deploy', '-d', 'orders-prod', '-f', '-'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', PGPASSWORD: await issueServiceToken(oidc.issuer, 'ci-deploy'), PGSSLMODE: 'require' },
    });
    let stderr = '';
    session.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise((resolve) => session.on('close', resolve));
    session.stdin.write('SELECT 1;\n');
    await eventually('the psql session live', () => gateway.guard.live().some((s) => s.identity.subject === 'ci-deploy'), 30_000);
    await logIn('alice');
    await page.getByRole('link', { name: 'Access' }).click();
    await page.getByLabel('Reason for ending a session').fill('maintenance window');
    const end = page.getByRole('button', { name: 'End session of ci-deploy on orders-prod' });
    await end.waitFor({ timeout: 20_000 });
    await shot('access');
    await accessible('access');
    await end.click();
    // psql reads the FATAL at its next statement: send it once the proxy has ended the session, else it could run first.
    await eventually('the psql session ended by the proxy', () => !gateway.guard.live().some((s) => s.identity.subject === 'ci-deploy') || undefined, 30_000);
    session.stdin.end('SELECT 2;\n');
    await ended;
    assert.match(stderr, /FATAL: {2}Portcullis ended this session: session ended by alice: maintenance window/);

    await page.getByLabel('What').selectOption('identity');
    await page.getByLabel('Name').fill('llm-agent');
    await page.getByLabel('Reason', { exact: true }).fill('prompt injection seen in its logs');
    await page.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('status').filter({ hasText: 'Revoked identity llm-agent' }).waitFor();
    const entry = await eventually('the revocation read back', () => [...revocations.state().entries.values()].find((e) => e.target.kind === 'identity' && e.target.subject === 'llm-agent'));
    assert.equal(entry.revokedBy.subject, 'alice');
    assert.equal(entry.reason, 'prompt injection seen in its logs');
    await page.getByRole('button', { name: 'Restore llm-agent' }).waitFor({ timeout: 10_000 });
    await logOut();
    noConsoleErrors();
  });

  it('bob, not an auditor, has no sessions page, and its API refuses him', async () => {
    await logIn('bob');
    assert.equal(await page.getByRole('link', { name: 'Access' }).count(), 0, 'no Access page for a non-admin');
    assert.equal(await page.getByRole('link', { name: 'Sessions' }).count(), 0);
    await page.goto(`${consoleUrl}/sessions`);
    await page.getByText('can be seen by members of the auditors group only').waitFor();
    const status = await page.evaluate(async () => (await fetch('/api/query/sessions')).status);
    assert.equal(status, 403);
    // That refusal is the one error the browser logs.
    assert.deepEqual(consoleErrors.splice(0).map((e) => /403/.test(e)), [true]);
    await logOut();
    noConsoleErrors();
  });
  /** The file the SSH session reads on the target (the test sshd runs on this machine). */
  const motd = join(tmpdir(), `portcullis-console-motd-${suffix}`);
  after(() => rm(motd, { force: true }));

  /**
   * An interactive session of the OpenSSH client with a terminal (`ssh -tt`) through the SSH proxy:
   * one line that runs (cat of a file holding `marker`), one the policy blocks (rm), then Ctrl-D.
   * Each line is typed once the previous one answered, as a person would.
   */
  async function sshTerminalSession(token: string, marker: string): Promise<void> {
    writeFileSync(motd, `${marker}\n`);
    const invocation = sshInvocation(ssh, 'root@web-1', [], { token, clientOptions: ['-tt'] });
    const child = spawn('ssh', invocation.args, { env: invocation.env });
    let screen = '';
    child.stdout.on('data', (d: Buffer) => (screen += d.toString()));
    child.stderr.on('data', (d: Buffer) => (screen += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const shown = (what: string, test: () => boolean) => eventually(what, () => test() || undefined, 20_000).catch((err: Error) => {
        throw new Error(`${err.message}; the terminal showed: ${JSON.stringify(screen.slice(-800))}`);
      });
      await shown('a prompt', () => /[#$] $/.test(screen));
      child.stdin.write(`cat ${motd}\r`);
      // The command line names the file, not its content: the marker on screen is the output.
      await shown('the file', () => screen.includes(marker));
      child.stdin.write('rm -rf /tmp/portcullis-console-nothing\r');
      await shown('the refusal', () => /blocked by rule ssh-destructive/.test(screen));
      // Ctrl-D on an empty line: the shell ends (`exit` is a program the example policy does not name).
      child.stdin.write('\x04');
      const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 20_000))]);
      assert.equal(code, 0, `the session ended: ${JSON.stringify(screen.slice(-800))}`);
    } finally {
      child.kill();
    }
  }
});
