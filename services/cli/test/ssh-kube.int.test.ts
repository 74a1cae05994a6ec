/**
 * `portcullis ssh` and `portcullis kube` with real parts: a person logged in
 * with `portcullis login` (browser login, scripted), the SSH proxy in front
 * of a real OpenSSH server, the HTTP proxy in front of the Kubernetes API
 * double, and the real ssh, scp and kubectl. Access tokens live 6 s and the
 * proxies allow no clock skew, so the test sees the plugins get new ones.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { createIdentityVerifier, silentLogger } from '@portcullis/kit';
import { startKubernetesDouble, startSshd, type KubernetesDouble, type Sshd } from '@portcullis/infra/targets';
import { connectCommandGate } from '@portcullis/policy-decision';
import { createSshProxy, parseSshProxyConfig, type SshProxy } from '@portcullis/proxy-ssh';
import { createHttpProxy, parseHttpProxyConfig } from '@portcullis/proxy-http';
import { loginInBrowser } from './support/browser.ts';
import { run, runCli } from './support/cli.ts';
import { freeLoopbackPort, startTestStack, type TestStack } from './support/gateway.ts';

const TOKEN_TTL_SECONDS = 6;

describe('portcullis ssh and kube', () => {
  let stack: TestStack;
  let sshd: Sshd;
  let sshProxy: SshProxy;
  let kubernetes: KubernetesDouble;
  let httpProxy: ReturnType<typeof createHttpProxy>;
  let closeGate: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  let configDir: string;
  let knownHosts: string;

  before(async () => {
    stack = await startTestStack('ssh-kube', ['cli-host', 'cli-cluster'], TOKEN_TTL_SECONDS);
    sshd = await startSshd({ dir: join(stack.dir, 'sshd'), port: await freeLoopbackPort() });
    kubernetes = await startKubernetesDouble({ token: 'cluster-token-for-the-test' });
    const { gate, sink } = await connectCommandGate({ bus: stack.bus, logger: silentLogger(), decision: 'edge', service: 'cli-test', verdictTimeoutMs: 20_000, policyStalenessMs: 10_000 });
    closeGate = () => gate.close();
    const verifier = createIdentityVerifier({ issuers: [{ issuer: stack.provider.issuer, audience: 'portcullis' }], clockToleranceSeconds: 0 });
    process.env.PCL_TEST_CLUSTER_TOKEN = 'cluster-token-for-the-test';
    const resources = [
      { name: 'cli-host', protocol: 'ssh', tags: ['production'], target: { host: '127.0.0.1', port: sshd.port, user: sshd.user, hostKeyFingerprint: sshd.hostKeyFingerprint }, credential: { file: sshd.userKeyPath } },
      { name: 'cli-cluster', protocol: 'kubernetes', tags: ['production'], server: kubernetes.url, token: { env: 'PCL_TEST_CLUSTER_TOKEN' } },
    ];
    sshProxy = createSshProxy({ config: parseSshProxyConfig({ ssh: { verdictTimeoutMs: 20_000 }, resources }), gate, sink, verifier, dataDir: join(stack.dir, 'proxy-ssh'), logger: silentLogger() });
    const { port: sshPort } = await sshProxy.listen(0, '127.0.0.1');
    const { port: keysPort } = await sshProxy.keysApi.listen(0, '127.0.0.1');
    const tls = { certFile: stack.tls.certFile, keyFile: stack.tls.keyFile, cert: readFileSync(stack.tls.certFile), key: readFileSync(stack.tls.keyFile) };
    httpProxy = createHttpProxy({ config: parseHttpProxyConfig({ http: { verdictTimeoutMs: 20_000 }, resources }), gate, sink, verifier, logger: silentLogger(), env: process.env, tls });
    await httpProxy.listen({ port: 0, host: '127.0.0.1' });
    const httpsPort = (httpProxy.server.address() as AddressInfo).port;

    knownHosts = join(stack.dir, 'known_hosts');
    const [type, key] = readFileSync(join(stack.dir, 'proxy-ssh', 'ssh_host_ed25519_key.pub'), 'utf8').trim().split(/\s+/);
    await writeFile(knownHosts, `[127.0.0.1]:${sshPort} ${type} ${key}\n`);
    configDir = await mkdtemp(join(stack.dir, 'config-'));
    env = {
      PORTCULLIS_CLI_CONFIG_DIR: configDir,
      PORTCULLIS_ISSUER: stack.provider.issuer,
      PORTCULLIS_SSH_GATEWAY: `127.0.0.1:${sshPort}`,
      PORTCULLIS_SSH_KEYS_URL: `http://127.0.0.1:${keysPort}`,
      PORTCULLIS_SSH_KNOWN_HOSTS: knownHosts,
      PORTCULLIS_HTTP_GATEWAY: `https://127.0.0.1:${httpsPort}`,
      PORTCULLIS_GATEWAY_CA: stack.tls.certFile,
      PORTCULLIS_TOKEN: '',
      PORTCULLIS_CLIENT_ID: '',
      PORTCULLIS_CLIENT_SECRET: '',
      BROWSER: 'none',
      KUBECONFIG: join(configDir, 'kubeconfig'),
    };
    let driving: Promise<string> | undefined;
    const login = await runCli(['login'], {
      env,
      onStderr: (all) => {
        const url = /(http:\/\/127\.0\.0\.1:\d+\/auth\?\S+)/.exec(all)?.[1];
        if (url && !driving) driving = loginInBrowser(url, stack.provider.issuer, 'alice');
      },
    });
    await driving;
    assert.equal(login.code, 0, login.stderr);
  });
  after(async () => {
    await sshProxy?.close().catch(() => undefined);
    await httpProxy?.close().catch(() => undefined);
    await closeGate?.().catch(() => undefined);
    await kubernetes?.app.close().catch(() => undefined);
    await sshd?.stop();
    await stack?.close();
    delete process.env.PCL_TEST_CLUSTER_TOKEN;
  });

  const accessToken = async (): Promise<string> => {
    const dir = join(configDir, 'logins');
    const [name] = (await readdir(dir)).filter((f) => f.endsWith('.json'));
    return (JSON.parse(await readFile(join(dir, name!), 'utf8')) as { accessToken: string }).accessToken;
  };

  test('portcullis ssh runs an allowed command and is refused a blocked one', async () => {
    const uptime = await runCli(['ssh', 'cli-host', '--', 'uptime'], { env });
    assert.equal(uptime.code, 0, uptime.stderr);
    assert.match(uptime.stdout, /load average: [\d.]+, [\d.]+, [\d.]+/);
    const marker = join(stack.dir, 'must-survive');
    await writeFile(marker, 'x');
    const rm = await runCli(['ssh', 'cli-host', '--', 'rm', '-f', marker], { env });
    assert.equal(rm.code, 1, rm.stderr);
    assert.match(rm.stderr, /^portcullis: blocked by rule ssh-destructive: /m);
    assert.ok(existsSync(marker), 'the host never ran rm');
  });

  test('plain ssh and scp with the block `portcullis ssh config` prints, after the token expired', async () => {
    const config = await runCli(['ssh', 'config'], { env });
    assert.equal(config.code, 0, config.stderr);
    assert.match(config.stdout, /^Host portcullis$/m);
    assert.match(config.stdout, /^ {2}ProxyCommand .* ssh proxy .*%h %p$/m);
    const sshConfig = join(configDir, 'ssh_config');
    await writeFile(sshConfig, config.stdout);
    const before = await accessToken();
    await sleep((TOKEN_TTL_SECONDS + 1) * 1000);

    const readable = join(stack.dir, 'readable.txt');
    await writeFile(readable, 'through-the-gateway\n');
    const cat = await run('ssh', ['-F', sshConfig, 'cli-host@portcullis', 'cat', readable], env);
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'through-the-gateway\n');
    assert.notEqual(await accessToken(), before, 'the ProxyCommand refreshed the login to register the key');

    const file = join(stack.dir, 'copied.txt');
    await writeFile(join(configDir, 'payload.txt'), 'hello through scp\n');
    const scp = await run('scp', ['-O', '-F', sshConfig, join(configDir, 'payload.txt'), `cli-host@portcullis:${file}`], env);
    assert.equal(scp.code, 0, scp.stderr);
    assert.equal(readFileSync(file, 'utf8'), 'hello through scp\n');

    const blocked = await run('ssh', ['-F', sshConfig, 'cli-host@portcullis', 'rm', '-rf', file], env);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /^portcullis: blocked by rule ssh-destructive: /m);
    assert.ok(existsSync(file));
  });

  test('kubectl with the context `portcullis kube config` writes lists pods, and gets a new token from the plugin after expiry', async () => {
    const written = await runCli(['kube', 'config', 'cli-cluster', '--namespace', 'default'], { env });
    assert.equal(written.code, 0, written.stderr);
    assert.match(written.stdout, /Context "portcullis-cli-cluster" written to .*kubeconfig and made current/);

    const credential = await runCli(['kube', 'credential'], { env });
    assert.equal(credential.code, 0, credential.stderr);
    const cred = JSON.parse(credential.stdout) as { apiVersion: string; kind: string; status: { token: string; expirationTimestamp: string } };
    assert.deepEqual([cred.apiVersion, cred.kind], ['client.authentication.k8s.io/v1', 'ExecCredential']);
    assert.match(cred.status.expirationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    const pods = await run('kubectl', ['get', 'pods'], env);
    assert.equal(pods.code, 0, pods.stderr);
    assert.match(pods.stdout, /^NAME\s+AGE\nweb-1\s+\S+\nweb-2\s+\S+\n$/);
    const first = await accessToken();
    await sleep((TOKEN_TTL_SECONDS + 1) * 1000);
    const again = await run('kubectl', ['get', 'pods'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /web-1/);
    assert.notEqual(await accessToken(), first, 'the plugin refreshed the expired token');

    const secrets = await run('kubectl', ['get', 'secrets'], env);
    assert.equal(secrets.code, 1);
    assert.match(secrets.stderr, /Forbidden/);
    assert.ok(!secrets.stdout.includes(kubernetes.secretValue));
  });

  test('logout withdraws the key at the gateway: the key left on disk logs nobody in', async () => {
    const key = join(configDir, 'ssh', 'id_ed25519');
    const direct = ['-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-p', env.PORTCULLIS_SSH_GATEWAY!.split(':')[1]!, 'cli-host@127.0.0.1'];
    const before = await run('ssh', [...direct, 'uptime'], env);
    assert.equal(before.code, 0, `the registered key logs in straight to the gateway: ${before.stderr}`);
    const out = await runCli(['logout'], { env });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^Withdrew the SSH key registered at the gateway\.\nLogged out of http:\/\/127\.0\.0\.1:\d+\.$/m);
    const after = await run('ssh', [...direct, 'uptime'], env);
    assert.equal(after.code, 255);
    assert.match(after.stderr, /Permission denied/);
  });
});
