import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { createIdentityVerifier, createTestBus, silentLogger, type Bus } from '@portcullis/kit';
import { newId, nowIso, type CommandRequested, type SessionTopicEvent } from '@portcullis/schemas';
import { publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';
import { ISSUER, sshdResource, startSshGateway, type SshGateway } from './gateway.ts';

export { ISSUER };

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

export interface Fixture extends SshGateway {
  bus: Bus;
  sessionEvents: SessionTopicEvent[];
  /** The CommandRequested events read back from the commands topic so far. */
  commandEvents(): CommandRequested[];
  /** The approvals service and its API (http://127.0.0.1:<port>). */
  approvals: ApprovalsService;
  grant(approvalId: string): Promise<void>;
  close(): Promise<void>;
}

/** `policy`: the policy document to publish (TEST_POLICY unless told). */
export async function startFixture(options: { policy?: string; tokenGraceMs?: number } = {}): Promise<Fixture> {
  const bus = createTestBus('proxy-ssh');
  await bus.connect();
  const published = await publishPolicy({ bus, yamlText: options.policy ?? TEST_POLICY, fileName: 'ssh-test.yaml' });
  if (!published.ok) {
    await bus.disconnect();
    throw new Error(`policy refused: ${JSON.stringify(published.errors)}`);
  }
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  const approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier: createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] }), port: 0 });
  const sessionEvents: SessionTopicEvent[] = [];
  const commands: CommandRequested[] = [];
  const reader = await bus.subscribe({
    groupId: `${bus.names.namespace}-reader`,
    topics: ['sessionEvents', 'commands'],
    fromBeginning: true,
    handler: async ({ event }) => {
      if (event.type === 'CommandRequested') commands.push(event);
      else sessionEvents.push(event);
    },
  });
  await reader.ready;
  const gateway = await startSshGateway({
    ...(options.tokenGraceMs !== undefined ? { tokenGraceMs: options.tokenGraceMs } : {}),
    bus,
    resources: (sshd) => [
      { name: 'orders-db', protocol: 'postgres', target: { whatever: true } },
      sshdResource(sshd, 'web-1', ['staging']),
      { ...(sshdResource(sshd, 'web-spoofed') as object), target: { host: '127.0.0.1', port: sshd.port, user: 'root', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` } },
    ],
  });
  return {
    ...gateway, bus, sessionEvents, approvals,
    commandEvents: () => commands,
    async grant(approvalId) {
      await bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), sessionId: 'approvals-test', approvalId, approvers: ['bob'] });
    },
    async close() {
      await gateway.close();
      await reader.stop().catch(() => undefined);
      await approvals.stop().catch(() => undefined);
      await pdp.stop().catch(() => undefined);
      await bus.disconnect().catch(() => undefined);
    },
  };
}

export { openSsh } from './gateway.ts';

export function generateClientKey(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file], { stdio: 'ignore' });
  return file;
}
