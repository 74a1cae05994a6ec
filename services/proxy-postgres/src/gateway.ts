/**
 * The PostgreSQL proxy wired to the real world: statements are judged
 * through the CommandGate of the configured `decision` mode (edge: decided
 * in this process and recorded with their verdict before they run; remote:
 * the PDP decides over Kafka), the session record goes to
 * portcullis.session-events, and callers' tokens are verified against the
 * configured OpenID issuer.
 */
import { createIdentityVerifier, startAccessGuard, type AccessGuard, type Bus, type CommandGate, type Logger } from '@portcullis/kit';
import { connectCommandGate } from '@portcullis/policy-decision';
import type { ProxyConfig } from './config.ts';
import { createPostgresProxy, type PostgresProxy } from './proxy.ts';

export interface PostgresGateway {
  proxy: PostgresProxy;
  /** The gate statements are judged through (readiness asks it whether it can decide). */
  gate: CommandGate;
  port: number;
  /** Who decides this proxy's statements: `edge:<instance>` or `remote`. */
  decidedBy: string;
  /** Revocations, token lifetime, presence (kit's access guard). */
  guard: AccessGuard;
  /** SIGTERM: stop accepting, let running statements finish within drainGraceMs, end every session, then close. */
  drain(reason?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startPostgresGateway({ config, bus, logger, issuer, audience = 'portcullis', port, host, clockToleranceSeconds }: {
  config: ProxyConfig;
  bus: Bus;
  logger: Logger;
  issuer: string;
  audience?: string;
  port?: number;
  host?: string;
  /** Leeway on the token's exp/nbf (default 30 s); tests that watch tokens expire set 0. */
  clockToleranceSeconds?: number;
}): Promise<PostgresGateway> {
  const { gate, sink, decidedBy } = await connectCommandGate({
    bus,
    logger,
    decision: config.decision,
    service: 'proxy-postgres',
    verdictTimeoutMs: config.verdictTimeoutMs,
    policyStalenessMs: config.policyStalenessMs,
  });
  // Read the revocation list whole before accepting anyone.
  const guard = await startAccessGuard({ bus, logger, service: 'proxy-postgres', tokenGraceMs: config.tokenGraceMs, stalenessMs: config.policyStalenessMs });
  const verifier = guard.guardVerifier(createIdentityVerifier({ issuers: [{ issuer, audience }], clockToleranceSeconds }));
  const proxy = createPostgresProxy({ config, gate, sink: guard.guardSink(sink), verifier, logger, guard });
  const listening = await proxy.listen(port ?? config.listen.port, host ?? config.listen.host);
  logger.info({ port: listening.port, resources: config.resources.map((r) => r.name), decidedBy }, 'PostgreSQL proxy listening');
  const close = async (): Promise<void> => {
    await proxy.close();
    await guard.stop();
    await gate.close();
  };
  return {
    proxy,
    gate,
    port: listening.port,
    decidedBy,
    guard,
    async drain(reason = 'the gateway is shutting down') {
      await proxy.drain(config.drainGraceMs, reason);
      await close();
    },
    close,
  };
}
