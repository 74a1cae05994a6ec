/**
 * `portcullis login` and `portcullis connect` with real parts: the local
 * OpenID provider (device grant and browser login, scripted), the PostgreSQL
 * gateway with TLS, Kafka and the PDP, and psql. Access tokens live 6 s and
 * the gateway allows no clock skew, so the test sees connect refresh them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createIdentityVerifier, createPool, followTopic, silentLogger } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { buildApp, resourcesRoutes } from '@portcullis/audit-projection';
import { evolvePolicyState, initialPolicyState, type PolicyState } from '@portcullis/policy-decision';
import type { AddressInfo } from 'node:net';
import { parseProxyConfig, startPostgresGateway, type PostgresGateway } from '@portcullis/proxy-postgres';
import { createTestTarget, type TestTarget } from '../../proxy-postgres/test/support/target-database.ts';
import { loginInBrowser } from './support/browser.ts';
import { BIN, run, runCli, type Ran } from './support/cli.ts';
import { freeLoopbackPort, startTestStack, type TestStack } from './support/gateway.ts';

const TOKEN_TTL_SECONDS = 6;

describe('portcullis login and connect', () => {
  let stack: TestStack;
  let target: TestTarget;
  let gateway: PostgresGateway;
  let configDir: string;
  let env: NodeJS.ProcessEnv;
  let queryApi: Awaited<ReturnType<typeof buildApp>>;
  let stopPolicies: () => Promise<void>;
  const resource = 'cli-demo';

  before(async () => {
    stack = await startTestStack('connect', [resource], TOKEN_TTL_SECONDS);
    target = await createTestTarget('cli', resource);
    target.resource.tags = ['production', 'pii'];
    await target.admin(`CREATE TABLE ${target.schema}.customers (id int primary key, name text, email text, card_number text)`);
    await target.admin(`INSERT INTO ${target.schema}.customers VALUES (1, 'Jane Roe', 'jane.roe@example.com', '4111 1111 1111 1111')`);
    await target.admin(`ALTER TABLE ${target.schema}.customers OWNER TO ${target.role}`);
    const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, verdictTimeoutMs: 15_000, tls: { cert: stack.tls.certFile, key: stack.tls.keyFile } });
    gateway = await startPostgresGateway({ config, bus: stack.bus, logger: silentLogger(), issuer: stack.provider.issuer, port: 0, clockToleranceSeconds: 0 });
    // The query API's GET /resources, as the projections process serves it, over this test's policy and catalogue.
    let policy: PolicyState = initialPolicyState;
    const policies = await followTopic(stack.bus, 'policies', (e) => void (policy = evolvePolicyState(policy, e)), { name: 'cli-test-policies' });
    await policies.caughtUp;
    stopPolicies = () => policies.stop();
    const catalogue = [{ name: resource, kind: 'postgres' as const, tags: ['production', 'pii'] }, { name: 'cli-other', kind: 'ssh' as const, tags: [] }];
    queryApi = await buildApp({
      pool: createPool(postgresUrl('portcullis'), 1),
      verifier: createIdentityVerifier({ issuers: [{ issuer: stack.provider.issuer, audience: 'portcullis' }] }),
      policyState: () => policy,
      routes: [resourcesRoutes({ catalogue: () => catalogue, policyState: () => policy })],
    });
    await queryApi.listen({ port: 0, host: '127.0.0.1' });
    configDir = await mkdtemp(join(stack.dir, 'config-'));
    env = {
      PORTCULLIS_CLI_CONFIG_DIR: configDir,
      PORTCULLIS_ISSUER: stack.provider.issuer,
      PORTCULLIS_PG_GATEWAY: `127.0.0.1:${gateway.port}`,
      PORTCULLIS_GATEWAY_CA: stack.tls.certFile,
      PORTCULLIS_TOKEN: '',
      PORTCULLIS_CLIENT_ID: '',
      PORTCULLIS_CLIENT_SECRET: '',
      BROWSER: 'none',
      PORTCULLIS_API_URL: `http://127.0.0.1:${(queryApi.server.address() as AddressInfo).port}`,
    };
  });
  after(async () => {
    await queryApi?.close();
    await stopPolicies?.();
    await gateway?.close();
    await target?.drop();
    await stack?.close();
  });

  /** Logs in with the command, playing the person at the browser from the address it prints. */
  const login = async (args: string[], person: string): Promise<Ran> => {
    let driving: Promise<string> | undefined;
    const ran = await runCli(['login', ...args], {
      env,
      onStderr: (all) => {
        const url = /(http:\/\/127\.0\.0\.1:\d+\/(?:device\?user_code=|auth\?)\S+)/.exec(all)?.[1];
        if (url && !driving) driving = loginInBrowser(url, stack.provider.issuer, person);
      },
    });
    assert.ok(driving, `login printed an address to open:\n${ran.stderr}`);
    await driving;
    return ran;
  };

  const cachedLogin = async (): Promise<{ file: string; accessToken: string; refreshToken: string }> => {
    const dir = join(configDir, 'logins');
    const [name] = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    const file = join(dir, name!);
    return { file, ...(JSON.parse(await readFile(file, 'utf8')) as { accessToken: string; refreshToken: string }) };
  };

  test('without a login, connect says to run portcullis login', async () => {
    const ran = await runCli(['connect', resource, '--', 'psql', '-c', 'SELECT 1'], { env });
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /^portcullis: not logged in to http:\/\/127\.0\.0\.1:\d+: run portcullis login .*\[PCL_ERR_NOT_LOGGED_IN\]$/m);
  });

  test('the browser login (code + PKCE on a loopback redirect) logs bob in', async () => {
    const ran = await login([], 'bob');
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /^Logged in to http:\/\/127\.0\.0\.1:\d+ as bob \(groups developers\)\.$/m);
    assert.match(ran.stderr, /code_challenge_method=S256/);
  });

  test('the device login logs alice in; the cached login is readable by her alone (0600, directory 0700)', async () => {
    const ran = await login(['--device'], 'alice');
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stderr, /To log in, open http:\/\/127\.0\.0\.1:\d+\/device\?user_code=\S+ and confirm the code [A-Z]{4}-[A-Z]{4}/);
    assert.match(ran.stdout, /^Logged in to .* as alice \(groups dba, approvers\)\.$/m);
    const { file, refreshToken } = await cachedLogin();
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(configDir, 'logins'))).mode & 0o777, 0o700);
    assert.ok(refreshToken, 'a refresh token is kept');
    const who = await runCli(['whoami', '--json'], { env });
    assert.equal(who.code, 0, who.stderr);
    const me = JSON.parse(who.stdout) as { subject: string; kind: string; groups: string[]; tokenFrom: string };
    assert.deepEqual([me.subject, me.kind, me.groups, me.tokenFrom], ['alice', 'human', ['dba', 'approvers'], 'login']);
  });

  test('portcullis resources lists what alice may connect to, and how', async () => {
    const ran = await runCli(['resources'], { env });
    assert.equal(ran.code, 0, ran.stderr);
    // This test's policy lets people do what the example lets automation do (support/gateway.ts); the unit tests cover refusals.
    assert.match(ran.stdout, /^cli-demo {3}postgres {4}production,pii {4}portcullis connect cli-demo {3}\(allow automation-read, hold automation-write-production, allow dba-all, hold dba-destructive-production\)$/m);
    assert.match(ran.stdout, /^cli-other {2}ssh {9}- {17}portcullis ssh cli-other {3}\(allow automation-ssh-inspect, allow people-copy\)$/m);
    assert.match(ran.stdout, /^policy version 1$/m);
  });

  test('connect -- psql runs the client through the gateway: personal data comes back masked, the status is psql\'s', async () => {
    const select = await runCli(['connect', resource, '--', 'psql', '-X', '-A', '-t', '-c', 'SELECT name, email, card_number FROM customers'], { env });
    assert.equal(select.code, 0, select.stderr);
    assert.equal(select.stdout, 'Jane Roe|j***@example.com|****\n');
    assert.match(select.stderr, /^ {2}psql "host=127\.0\.0\.1 port=\d+ dbname=cli-demo user=alice sslmode=disable"$/m);
    assert.match(select.stderr, /^ {2}postgresql:\/\/alice@127\.0\.0\.1:\d+\/cli-demo\?sslmode=disable$/m);

    const drop = await runCli(['connect', resource, '--', 'psql', '-X', '-c', 'DROP TABLE customers'], { env });
    assert.equal(drop.code, 1);
    assert.match(drop.stderr, /ERROR: {2}Portcullis blocked this statement: rule automation-no-destructive/);
  });

  test('a listener left running outlives the token: connections after its expiry get a refreshed one; a session spanning it ends as the gateway says (no session outlives its token)', async () => {
    const first = await cachedLogin();
    const listener: ChildProcess = spawn(process.execPath, [BIN, 'connect', resource, '--port', String(await freeLoopbackPort())], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      listener.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      listener.stderr!.on('data', (d: Buffer) => (out += d.toString()));
      for (let i = 0; i < 300 && !/psql "([^"]+)"/.test(out); i++) await sleep(100);
      const conninfo = /psql "([^"]+)"/.exec(out)?.[1];
      assert.ok(conninfo, out);

      // One psql session that lasts past the token's lifetime (psql's \! runs sleep locally). PostgreSQL has no
      // in-band re-authentication, so the gateway ends it when the token it was opened with expires (docs/revocation.md).
      const script = `SELECT 'before';\n\\! sleep ${TOKEN_TTL_SECONDS + 2}\nSELECT name, email FROM customers;\n`;
      const long = await run('psql', ['-X', '-A', '-t', conninfo, '-f', '-'], {}, script);
      assert.notEqual(long.code, 0);
      assert.equal(long.stdout, 'before\n');
      assert.match(long.stderr, /FATAL: {2}Portcullis ended this session: the access token this session was opened with expired at .*; connect again with a new token/);

      // The token the listener first used has expired: the gateway refuses it, yet a new connection works.
      const direct = await run('psql', ['-X', '-c', 'SELECT 1', `host=127.0.0.1 port=${gateway.port} dbname=${resource} user=alice sslmode=require`], { PGPASSWORD: first.accessToken });
      assert.equal(direct.code, 2);
      assert.match(direct.stderr, /access token rejected for user "alice": .*expired/i);
      const later = await run('psql', ['-X', '-A', '-t', '-c', 'SELECT count(*) FROM customers', conninfo]);
      assert.equal(later.code, 0, `${later.stderr}\n${out}`);
      assert.equal(later.stdout, '1\n');
      const renewed = await cachedLogin();
      assert.notEqual(renewed.accessToken, first.accessToken, 'the listener refreshed the access token');
      assert.notEqual(renewed.refreshToken, first.refreshToken, 'and stored the rotated refresh token');
      assert.equal((await stat(renewed.file)).mode & 0o777, 0o600);
    } finally {
      listener.kill('SIGTERM');
    }
  });

  test('a job with client credentials connects without a login; a wrong secret is refused plainly', async () => {
    const { clients } = JSON.parse(await readFile(join(stack.provider.dataDir, 'clients.json'), 'utf8')) as { clients: { clientId: string; clientSecret: string }[] };
    const secret = clients.find((c) => c.clientId === 'llm-agent')!.clientSecret;
    const job = { ...env, PORTCULLIS_CLI_CONFIG_DIR: await mkdtemp(join(stack.dir, 'job-')), PORTCULLIS_CLIENT_ID: 'llm-agent', PORTCULLIS_CLIENT_SECRET: secret };
    const who = await runCli(['whoami', '--json'], { env: job });
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual((({ subject, kind, tokenFrom }) => ({ subject, kind, tokenFrom }))(JSON.parse(who.stdout) as Record<string, unknown>), { subject: 'llm-agent', kind: 'service', tokenFrom: 'client credentials' });
    const select = await runCli(['connect', resource, '--', 'psql', '-X', '-A', '-t', '-c', 'SELECT email FROM customers'], { env: job });
    assert.equal(select.code, 0, select.stderr);
    assert.equal(select.stdout, 'j***@example.com\n');
    const wrong = await runCli(['whoami'], { env: { ...job, PORTCULLIS_CLIENT_SECRET: 'not-the-secret' } });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^portcullis: http:\/\/127\.0\.0\.1:\d+ refused client credentials for llm-agent: invalid_client.*\[PCL_ERR_UNAUTHENTICATED\]$/m);
    assert.ok(!wrong.stderr.includes('not-the-secret'));
  });

  test('an unknown resource and an unreachable gateway are said plainly', async () => {
    const unknown = await runCli(['connect', 'no-such-db', '--', 'psql', '-X', '-c', 'SELECT 1'], { env });
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /no-such-db/);
    const closed = await freeLoopbackPort();
    const unreachable = await runCli(['connect', resource, '--gateway', `127.0.0.1:${closed}`, '--', 'psql', '-X', '-c', 'SELECT 1'], { env });
    assert.equal(unreachable.code, 2);
    assert.match(unreachable.stderr, new RegExp(`cannot reach the PostgreSQL gateway at 127\\.0\\.0\\.1:${closed}: connect ECONNREFUSED`));
  });

  test('a gateway whose certificate is not the configured CA\'s never gets the token', async () => {
    const other = await mkdtemp(join(stack.dir, 'other-ca-'));
    const { selfSignedCertificate } = await import('@portcullis/infra/targets');
    const stranger = selfSignedCertificate(other);
    const ran = await runCli(['connect', resource, '--gateway-ca', stranger.certFile, '--', 'psql', '-X', '-c', 'SELECT 1'], { env });
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /TLS failed: .*(self-signed|self signed|unable to verify)/i);
  });

  test('a refresh token the provider no longer honours ends in "run portcullis login"', async () => {
    const cached = await cachedLogin();
    const stale = { ...JSON.parse(await readFile(cached.file, 'utf8')), refreshToken: 'revoked-or-expired', expiresAt: new Date(Date.now() - 1000).toISOString() };
    await writeFile(cached.file, JSON.stringify(stale), { mode: 0o600 });
    const ran = await runCli(['whoami'], { env });
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /^portcullis: your login at http:\/\/127\.0\.0\.1:\d+ expired or was revoked \(invalid_grant\): run portcullis login \[PCL_ERR_LOGIN_EXPIRED\]$/m);
    const out = await runCli(['logout'], { env });
    assert.match(out.stdout, /^Logged out of /);
    const after = await runCli(['whoami'], { env });
    assert.match(after.stderr, /not logged in/);
  });
});
