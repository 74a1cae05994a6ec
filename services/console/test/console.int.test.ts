/**
 * The web console in real Chromium against the real stack: the local OpenID
 * provider (its browser login, started from a temp data dir), Kafka, the PDP,
 * the PostgreSQL proxy with psql, the approvals service, the audit and replay
 * projections and the query API, and the console serving its built app.
 *
 *  - alice logs in, sees a held DELETE from psql in her inbox, approves it
 *    with a comment, and psql completes;
 *  - carol (auditor) filters sessions by identity, opens the session, sees the
 *    grant with its comment, masked rows in the SQL transcript and the
 *    integrity badge; an SSH recording plays in asciinema-player; the policy
 *    playground blocks a DROP for llm-agent;
 *  - bob (not an auditor) gets no Sessions page and a 403 from its API.
 * Screenshots of each page go to services/console/test-output/.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import axe from 'axe-core';
import { createIdentityVerifier, createTestBus, eventually, silentLogger, type Bus } from '@portcullis/kit';
import { devPassword, issueServiceToken, postgresConnection, postgresUrl, startOidcProvider, type OidcProviderHandle } from '@portcullis/infra';
import { publishPolicy, startPolicyDecisionService, evolvePolicyState, initialPolicyState, type PolicyDecisionService, type PolicyState } from '@portcullis/policy-decision';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';
import { adminRoutes, buildApp as buildQueryApp, startAuditProjection } from '@portcullis/audit-projection';
import { replayRoutes, startReplayProjection } from '@portcullis/replay-projection';
import { createPool, followPresence, followRevocations, followTopic, schemaIdent, type RevocationList } from '@portcullis/kit';
import { newId, SessionChain } from '@portcullis/schemas';
import { buildConsoleApp, createOidcClient, WEB_DIST } from '../src/server/index.ts';

const CHROMIUM = '/usr/bin/chromium';
const policy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const outputDir = fileURLToPath(new URL('../test-output/', import.meta.url));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the web console in Chromium', { skip: !existsSync(CHROMIUM) ? `${CHROMIUM} is not installed` : !existsSync(join(WEB_DIST, 'index.html')) ? 'the console is not built (npm run build -w @portcullis/console)' : false }, () => {
  const suffix = randomBytes(4).toString('hex');
  const role = `pcl_console_${suffix}`;
  const envVar = `PCL_CONSOLE_PW_${suffix.toUpperCase()}`;
  const auditSchema = `t_console_audit_${suffix}`;
  const replaySchema = `t_console_replay_${suffix}`;
  const cleanup: (() => Promise<unknown>)[] = [];
  let oidc: OidcProviderHandle;
  let admin: pg.Client;
  let bus: Bus;
  let gateway: PostgresGateway;
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
    const oidcPort = await freePort();
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

    const c = postgresConnection();
    admin = new pg.Client({ host: c.host, port: c.port, user: c.user, password: c.password, database: 'demo' });
    await admin.connect();
    process.env[envVar] = randomBytes(18).toString('base64url');
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${process.env[envVar]}'`);
    await admin.query(`CREATE SCHEMA ${role} AUTHORIZATION ${role}`);
    await admin.query(`ALTER ROLE ${role} IN DATABASE demo SET search_path = ${role}`);
    await admin.query(`CREATE TABLE ${role}.orders (id int primary key, status text)`);
    await admin.query(`INSERT INTO ${role}.orders VALUES (1, 'stale'), (2, 'open')`);
    await admin.query(`CREATE TABLE ${role}.customers (id int primary key, name text, email text)`);
    await admin.query(`INSERT INTO ${role}.customers VALUES (1, 'Jane Roe', 'jane.roe@example.com')`);
    await admin.query(`ALTER TABLE ${role}.orders OWNER TO ${role}`);
    await admin.query(`ALTER TABLE ${role}.customers OWNER TO ${role}`);
    cleanup.push(async () => {
      await admin.query(`DROP SCHEMA IF EXISTS ${role} CASCADE`).catch(() => undefined);
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
      await admin.end();
    });

    bus = createTestBus('console-e2e', { partitions: 1 });
    await bus.connect();
    cleanup.push(() => bus.disconnect());
    assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' })).ok);
    const pdp: PolicyDecisionService = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
    cleanup.push(() => pdp.stop());
    approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier, port: 0 });
    cleanup.push(() => approvals.stop());
    gateway = await startPostgresGateway({
      config: parseProxyConfig({
        resources: [{ name: 'orders-prod', protocol: 'postgres', tags: ['production'], target: { host: c.host, port: c.port, database: 'demo', user: role, tls: 'disable' }, credential: { env: envVar } }],
        listen: { host: '127.0.0.1', port: 0 },
        verdictTimeoutMs: 60_000,
      }),
      bus, logger: silentLogger(), issuer, port: 0,
    });
    cleanup.push(() => gateway.close());

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

    const consolePort = await freePort();
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

  it('alice approves a held DELETE from psql in her inbox, with a comment, and psql completes', async () => {
    const ci = await issueServiceToken(oidc.issuer, 'ci-deploy');
    // A read first, in its own session: masked rows for the transcript below.
    const read = await psql('SELECT name, email FROM customers', ci).done;
    assert.equal(read.code, 0, read.stderr);
    assert.doesNotMatch(read.stdout, /jane\.roe@example\.com/);

    await logIn('alice');
    heldSessionCommand = 'DELETE FROM orders WHERE id = 1';
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
    assert.equal(r.stdout.trim(), 'DELETE 1');
    const rows = await admin.query(`SELECT id FROM ${role}.orders ORDER BY id`);
    assert.deepEqual(rows.rows.map((x) => x.id), [2]);
    await page.getByText('Nothing is waiting for a decision.').waitFor();
    await logOut();
    noConsoleErrors();
  });

  it('carol filters sessions, replays the held one with its grant, sees masked rows and the integrity badge, plays an SSH recording, and the playground blocks a DROP for llm-agent', async () => {
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

    // An SSH session's terminal recording plays in asciinema-player.
    const sshId = await publishSshRecording(bus, oidc.issuer);
    await eventually('the SSH session in the audit', async () => {
      await page.goto(`${consoleUrl}/sessions/${sshId}`);
      return (await page.locator('.terminal').count()) > 0 || undefined;
    }, 20_000);
    await page.locator('.ap-player').waitFor();
    await page.locator('.ap-player').click();
    await eventually('the recording played', async () => (/deploy finished/.test(await page.locator('.terminal').innerText()) ? true : undefined), 10_000);
    await shot('session-ssh');

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
});

/** An SSH session as the SSH proxy records it (SessionOpened, stream output, SessionClosed), published on the bus. */
async function publishSshRecording(bus: Bus, issuer: string): Promise<string> {
  const chain = new SessionChain();
  const sessionId = `s-${newId()}`;
  const start = Date.now() - 5000;
  const at = (s: number) => new Date(start + s * 1000).toISOString();
  const identity = { subject: 'ci-deploy', issuer, kind: 'service' as const, groups: ['ci'] };
  const env = (n: number) => ({ eventId: newId(), occurredAt: at(n), sessionId });
  await bus.publish('sessionEvents', chain.next({ type: 'SessionOpened' as const, ...env(0), identity, resource: { name: 'web-1', kind: 'ssh' as const, tags: [] }, protocol: 'ssh' as const, clientAddress: '127.0.0.1:5001' }) as never);
  await bus.publish('sessionEvents', chain.next({ type: 'OutputRecorded' as const, ...env(1), format: 'stream' as const, stream: [[0.1, 'o', '$ '], [0.3, 'i', './deploy.sh\r'], [0.5, 'o', 'deploy finished\r\n$ ']], truncated: false }) as never);
  await bus.publish('sessionEvents', chain.next({ type: 'SessionClosed' as const, ...env(2), reason: 'client', durationMs: 2000 }) as never);
  return sessionId;
}
