import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentityVerifier, createTestBus, silentLogger, startAccessGuard, type AccessGuard, type Bus } from '@portcullis/kit';
import { newId, nowIso, type SessionTopicEvent } from '@portcullis/schemas';
import { connectCommandGate, publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';
import { createSshProxy, parseSshProxyConfig, type SshProxy } from '../../src/index.ts';
import { startSshd, type TestSshd } from './sshd.ts';

export const ISSUER = 'http://127.0.0.1:9400';

export const TEST_POLICY = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: ssh-inspect
    effect: allow
    reason: may inspect and copy
    match:
      protocol: ssh
      shell:
        programs: [echo, cat, ls, printf, head, sha256sum, test, "true", sh, bash, exit, scp, stat, sleep, dd]
  - id: ssh-destructive
    effect: block
    reason: destructive host commands are not allowed
    match:
      protocol: ssh
      shell:
        programs: [rm, shred]
  - id: ssh-touch-needs-approval
    effect: hold
    reason: creating files needs an operator
    match:
      protocol: ssh
      shell:
        programs: [touch]
    approval: { approverGroups: [ops], quorum: 1, ttl: 5m }
  - id: ssh-sftp
    effect: allow
    reason: file transfer over sftp
    match:
      protocol: ssh
      shell:
        channels: [subsystem]
        programs: [sftp]
`;

export interface Fixture {
  bus: Bus;
  sshd: TestSshd;
  proxy: SshProxy;
  port: number;
  keysPort: number;
  dir: string;
  sessionEvents: SessionTopicEvent[];
  /** The approvals service and its API (http://127.0.0.1:<port>). */
  approvals: ApprovalsService;
  /** Revocations, token lifetime, presence and drain, as the proxy's main.ts wires them. */
  guard: AccessGuard;
  grant(approvalId: string): Promise<void>;
  close(): Promise<void>;
}

/** `policy`: the policy document to publish (TEST_POLICY unless told). */
export async function startFixture(options: { policy?: string; tokenGraceMs?: number } = {}): Promise<Fixture> {
  const bus = createTestBus('proxy-ssh');
  await bus.connect();
  const sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), 'portcullis-proxy-ssh-'));
  const published = await publishPolicy({ bus, yamlText: options.policy ?? TEST_POLICY, fileName: 'ssh-test.yaml' });
  if (!published.ok) {
    await Promise.allSettled([bus.disconnect(), sshd.stop()]);
    throw new Error(`policy refused: ${JSON.stringify(published.errors)}`);
  }
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  // The proxy decides at the edge (the default), as in production.
  const { gate, sink } = await connectCommandGate({ bus, logger: silentLogger(), decision: 'edge', service: 'proxy-ssh-test', verdictTimeoutMs: 20_000, policyStalenessMs: 10_000 });
  const approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier: createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] }), port: 0 });
  const sessionEvents: SessionTopicEvent[] = [];
  const reader = await bus.subscribe({
    groupId: `${bus.names.namespace}-reader`,
    topics: ['sessionEvents'],
    fromBeginning: true,
    handler: async ({ event }) => void sessionEvents.push(event),
  });
  await reader.ready;
  const config = parseSshProxyConfig({
    ssh: { verdictTimeoutMs: 20_000, holdTimeoutMs: 60_000 },
    resources: [
      { name: 'orders-db', protocol: 'postgres', target: { whatever: true } },
      {
        name: 'web-1', protocol: 'ssh', tags: ['staging'],
        target: { host: '127.0.0.1', port: sshd.port, user: 'root', hostKeyFingerprint: sshd.hostKeyFingerprint },
        credential: { file: sshd.userKeyPath },
      },
      {
        name: 'web-spoofed', protocol: 'ssh',
        target: { host: '127.0.0.1', port: sshd.port, user: 'root', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` },
        credential: { file: sshd.userKeyPath },
      },
    ],
  });
  const guard = await startAccessGuard({ bus, logger: silentLogger(), service: 'proxy-ssh-test', tokenGraceMs: options.tokenGraceMs ?? 0, heartbeatMs: 1000 });
  const proxy = createSshProxy({
    config,
    gate,
    sink: guard.guardSink(sink),
    verifier: guard.guardVerifier(createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] })),
    guard,
    dataDir: join(dir, 'data'),
    logger: process.env.PORTCULLIS_TEST_LOGS ? undefined : silentLogger(),
  });
  const { port } = await proxy.listen(0, '127.0.0.1');
  const { port: keysPort } = await proxy.keysApi.listen(0, '127.0.0.1');
  return {
    bus, sshd, proxy, port, keysPort, dir, sessionEvents, approvals, guard,
    async grant(approvalId) {
      await bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), sessionId: 'approvals-test', approvalId, approvers: ['bob'] });
    },
    async close() {
      await proxy.close().catch(() => undefined);
      await guard.stop().catch(() => undefined);
      await reader.stop().catch(() => undefined);
      await approvals.stop().catch(() => undefined);
      await gate.close().catch(() => undefined);
      await pdp.stop().catch(() => undefined);
      await bus.disconnect().catch(() => undefined);
      await sshd.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The OpenSSH client, authenticating with a token through SSH_ASKPASS (a script generated here that prints it from the environment). */
export function openSsh(f: Fixture, login: string, args: string[], options: { token?: string; key?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const askpass = join(f.dir, 'askpass.sh');
  writeFileSync(askpass, '#!/bin/sh\nprintf "%s\\n" "$PORTCULLIS_TEST_TOKEN"\n');
  chmodSync(askpass, 0o700);
  const auth = options.key
    ? ['-i', options.key, '-o', 'IdentitiesOnly=yes', '-o', 'PreferredAuthentications=publickey']
    : ['-o', 'PubkeyAuthentication=no', '-o', 'PreferredAuthentications=password'];
  return new Promise((resolve) => {
    const child = execFile(
      'ssh',
      ['-p', String(f.port), '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=INFO', '-o', 'NumberOfPasswordPrompts=1', ...auth, `${login}@127.0.0.1`, ...args],
      { env: { ...process.env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0', PORTCULLIS_TEST_TOKEN: options.token ?? '' }, maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}

export function generateClientKey(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file], { stdio: 'ignore' });
  return file;
}
