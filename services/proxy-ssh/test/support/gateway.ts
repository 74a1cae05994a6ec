/**
 * The SSH proxy in front of a real OpenSSH server on loopback, deciding at
 * the edge on a test's bus, and the OpenSSH client that logs in through it
 * with a token. Shared by this package's tests, the console's browser test
 * and the e2e tests (exported as @portcullis/proxy-ssh/test-support).
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentityVerifier, silentLogger, startAccessGuard, type AccessGuard, type Bus } from '@portcullis/kit';
import { connectCommandGate } from '@portcullis/policy-decision';
import { createSshProxy, parseSshProxyConfig, type ExecTiming, type SshProxy } from '../../src/index.ts';
import { startSshd, type TestSshd } from './sshd.ts';

export const ISSUER = 'http://127.0.0.1:9400';

export interface SshGateway {
  sshd: TestSshd;
  proxy: SshProxy;
  /** The proxy's SSH port on 127.0.0.1. */
  port: number;
  /** Its public-key registration API. */
  keysPort: number;
  /** A temp dir for the proxy's data and the client's files; removed by close(). */
  dir: string;
  /** Revocations, token lifetime, presence and drain, as the proxy's main.ts wires them. */
  guard: AccessGuard;
  close(): Promise<void>;
}

export interface SshGatewayOptions {
  bus: Bus;
  /** The resources (portcullis.yaml entries) given the started sshd; default one host, `web-1`, tagged staging. */
  resources?: (sshd: TestSshd) => unknown[];
  issuer?: string;
  /** Sessions end this long after their token expires (default 0). */
  tokenGraceMs?: number;
  /** Told where each exec's time went on the proxy's side. */
  onExecTimed?: (timing: ExecTiming) => void;
}

/** A host resource on the test sshd, as portcullis.yaml names it. */
export const sshdResource = (sshd: TestSshd, name: string, tags: string[] = []): unknown => ({
  name, protocol: 'ssh', tags,
  target: { host: '127.0.0.1', port: sshd.port, user: 'root', hostKeyFingerprint: sshd.hostKeyFingerprint },
  credential: { file: sshd.userKeyPath },
});

export async function startSshGateway({ bus, resources = (sshd) => [sshdResource(sshd, 'web-1', ['staging'])], issuer = ISSUER, tokenGraceMs = 0, onExecTimed }: SshGatewayOptions): Promise<SshGateway> {
  const sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-proxy-ssh-'));
  // The proxy decides at the edge (the default), as in production.
  const { gate, sink } = await connectCommandGate({ bus, logger: silentLogger(), decision: 'edge', service: 'proxy-ssh-test', verdictTimeoutMs: 20_000, policyStalenessMs: 10_000 });
  const config = parseSshProxyConfig({ ssh: { verdictTimeoutMs: 20_000, holdTimeoutMs: 60_000 }, resources: resources(sshd) });
  const guard = await startAccessGuard({ bus, logger: silentLogger(), service: 'proxy-ssh-test', tokenGraceMs, heartbeatMs: 1000 });
  const proxy = createSshProxy({
    config, gate,
    sink: guard.guardSink(sink),
    verifier: guard.guardVerifier(createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] })),
    guard,
    dataDir: join(dir, 'data'),
    logger: process.env.PORTCULLIS_TEST_LOGS ? undefined : silentLogger(),
    ...(onExecTimed ? { onExecTimed } : {}),
  });
  const { port } = await proxy.listen(0, '127.0.0.1');
  const { port: keysPort } = await proxy.keysApi.listen(0, '127.0.0.1');
  return {
    sshd, proxy, port, keysPort, dir, guard,
    async close() {
      await proxy.close().catch(() => undefined);
      await guard.stop().catch(() => undefined);
      await gate.close().catch(() => undefined);
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The arguments and environment for the OpenSSH client through the gateway, with a token through
 * SSH_ASKPASS (a script that prints it from the environment) or a key; `clientOptions` go before
 * the destination (`-tt` for a terminal).
 */
export function sshInvocation(g: Pick<SshGateway, 'port' | 'dir'>, login: string, args: string[], options: { token?: string; key?: string; clientOptions?: string[] } = {}): { args: string[]; env: NodeJS.ProcessEnv } {
  const askpass = join(g.dir, 'askpass.sh');
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$PORTCULLIS_TEST_TOKEN"\n');
  chmodSync(askpass, 0o700);
  const auth = options.key
    ? ['-i', options.key, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey']
    : ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password'];
  return {
    args: ['-p', String(g.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=INFO', '-o', 'NumberOfPasswordPrompts=1', ...auth, ...(options.clientOptions ?? []), `${login}@127.0.0.1`, ...args],
    env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', PORTCULLIS_TEST_TOKEN: options.token ?? '' },
  };
}

/** Runs the OpenSSH client through the gateway to completion. */
export function openSsh(g: Pick<SshGateway, 'port' | 'dir'>, login: string, args: string[], options: { token?: string; key?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const invocation = sshInvocation(g, login, args, options);
  return new Promise((resolve) => {
    const child = execFile('ssh', invocation.args, { env: invocation.env, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }));
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}
