/**
 * The console service: follows the policies topic (for the policy view and
 * the playground) and serves the app.
 *
 *   const consoleService = await startConsole({ bus, logger, config });
 */
import type { FastifyInstance } from 'fastify';
import { createIdentityVerifier, followTopic, type Bus, type Logger } from '@portcullis/kit';
import { evolvePolicyState, initialPolicyState, type PolicyState } from '@portcullis/policy-decision';
import { buildConsoleApp } from './app.ts';
import type { ConsoleConfig } from './config.ts';
import { createOidcClient } from './oidc-client.ts';
import { WEB_DIST } from './paths.ts';

export interface ConsoleService {
  app: FastifyInstance;
  url: string;
  stop(): Promise<void>;
}

export async function startConsole({ bus, logger, config, staticDir = WEB_DIST }: { bus: Bus; logger: Logger; config: ConsoleConfig; staticDir?: string }): Promise<ConsoleService> {
  let policy: PolicyState = initialPolicyState;
  const policies = await followTopic(bus, 'policies', (e) => void (policy = evolvePolicyState(policy, e)), { name: 'console-policy-follower' });
  await policies.caughtUp;
  const app = await buildConsoleApp({
    oidc: createOidcClient({
      issuer: config.issuer,
      clientId: config.clientId,
      ...(config.clientSecret ? { clientSecret: config.clientSecret } : {}),
      redirectUri: `${config.publicUrl}/auth/callback`,
      ...(config.resource ? { resource: config.resource } : {}),
    }),
    verifier: createIdentityVerifier({ issuers: [{ issuer: config.issuer, audience: config.audience }] }),
    upstreams: { approvals: config.approvalsUrl, query: config.queryUrl },
    publicUrl: config.publicUrl,
    staticDir,
    policyState: () => policy,
    auditorGroup: config.auditorGroup,
    adminGroup: config.adminGroup,
    policyGroups: config.policyGroups,
    logger,
  });
  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (err) {
    await policies.stop();
    throw err;
  }
  const address = app.server.address();
  const url = address && typeof address === 'object' ? `http://${config.host}:${address.port}` : config.publicUrl;
  logger.info({ url }, 'console running');
  return {
    app,
    url,
    async stop() {
      await app.close().catch(() => undefined);
      await policies.stop();
    },
  };
}
