/**
 * The PostgreSQL proxy wired to the real world: commands go to the PDP over
 * Kafka (CommandGate), the session record to portcullis.session-events, and
 * callers' tokens are verified against the configured OpenID issuer.
 */
import { createCommandGate, createIdentityVerifier, followTopic, type Bus, type Logger } from '@portcullis/kit';
import { newId, nowIso } from '@portcullis/schemas';
import type { ProxyConfig } from './config.ts';
import { createPostgresProxy, type PostgresProxy } from './proxy.ts';

export interface PostgresGateway {
  proxy: PostgresProxy;
  port: number;
  close(): Promise<void>;
}

export async function startPostgresGateway({ config, bus, logger, issuer, audience = 'portcullis', port, host }: {
  config: ProxyConfig;
  bus: Bus;
  logger: Logger;
  issuer: string;
  audience?: string;
  port?: number;
  host?: string;
}): Promise<PostgresGateway> {
  await bus.connect();
  const gate = await createCommandGate({ bus, timeoutMs: config.verdictTimeoutMs });
  // Knowing the policy version in force lets the engine re-judge prepared statements after a change.
  let policyVersion: number | undefined;
  const policies = await followTopic(bus, 'policies', (e) => {
    policyVersion = Math.max(policyVersion ?? 0, e.version);
  }, { name: 'proxy-postgres-policies' });
  await policies.caughtUp;
  const verifier = createIdentityVerifier({ issuers: [{ issuer, audience }] });
  const proxy = createPostgresProxy({
    config,
    gate: {
      judge: gate.judge,
      awaitFinal: gate.awaitFinal,
      currentPolicyVersion: () => policyVersion,
      cancelHold: ({ approvalId, sessionId, reason }) =>
        bus.publish('approvals', { type: 'ApprovalCancelled', eventId: newId(), occurredAt: nowIso(), sessionId, approvalId, reason }),
    },
    sink: { publish: (event) => bus.publish('sessionEvents', event) },
    verifier,
    logger,
  });
  const listening = await proxy.listen(port ?? config.listen.port, host ?? config.listen.host);
  logger.info({ port: listening.port, resources: config.resources.map((r) => r.name) }, 'PostgreSQL proxy listening');
  return {
    proxy,
    port: listening.port,
    async close() {
      await proxy.close();
      await gate.close();
      await policies.stop();
    },
  };
}
