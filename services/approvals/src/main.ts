/**
 * The approvals service process.
 *   PORTCULLIS_KAFKA_BROKERS, PORTCULLIS_REGISTRY_URL   where the bus is
 *   PORTCULLIS_OIDC_ISSUER                              trusted issuer (default http://127.0.0.1:9400)
 *   PORTCULLIS_OIDC_AUDIENCE                            expected audience (default portcullis)
 *   PORTCULLIS_APPROVALS_PORT                           API port (default 8091)
 *   PORTCULLIS_APPROVALS_HOST                           listen address (default 127.0.0.1)
 *   PORTCULLIS_APPROVALS_PUBLIC_URL                     the API as approvers reach it (links in messages)
 *   PORTCULLIS_AUDITOR_GROUP                            sees every approval (default auditors)
 *   PORTCULLIS_APPROVER_WEBHOOKS                        JSON: [{ "name", "url", "secretEnv", "format": "json"|"slack" }]
 *   PORTCULLIS_TOPIC_NAMESPACE                          topic prefix (tests)
 *   PORTCULLIS_ADMIN_PORT, PORTCULLIS_ADMIN_HOST        /healthz, /readyz, /metrics (default 127.0.0.1:9605)
 */
import { busConfigFromEnv, createBus, createIdentityVerifier, trustedIssuerFromEnv, createLogger, describeError, intSetting, PortcullisError, startServiceAdmin } from '@portcullis/kit';
import { DEFAULT_APPROVALS_PORT, startApprovalsService } from './service.ts';
import type { WebhookEndpointConfig } from './webhooks/dispatcher.ts';

const logger = createLogger('approvals');

function webhooksFromEnv(): WebhookEndpointConfig[] {
  const raw = process.env.PORTCULLIS_APPROVER_WEBHOOKS;
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!Array.isArray(parsed)) throw new Error('not a JSON array');
    return parsed as WebhookEndpointConfig[];
  } catch (err) {
    throw new PortcullisError('PCL_ERR_CONFIG', `PORTCULLIS_APPROVER_WEBHOOKS must be a JSON array of { name, url, secretEnv, format }: ${(err as Error).message}`);
  }
}

try {
  const bus = createBus({ config: busConfigFromEnv('approvals'), logger });
  const verifier = createIdentityVerifier({
    issuers: [trustedIssuerFromEnv()],
  });
  const service = await startApprovalsService({
    bus,
    logger,
    verifier,
    webhooks: webhooksFromEnv(),
    ...(process.env.PORTCULLIS_AUDITOR_GROUP ? { auditorGroup: process.env.PORTCULLIS_AUDITOR_GROUP } : {}),
    port: intSetting(process.env, 'PORTCULLIS_APPROVALS_PORT', DEFAULT_APPROVALS_PORT),
    host: process.env.PORTCULLIS_APPROVALS_HOST ?? '127.0.0.1',
    ...(process.env.PORTCULLIS_APPROVALS_PUBLIC_URL ? { publicUrl: process.env.PORTCULLIS_APPROVALS_PUBLIC_URL } : {}),
  });
  const admin = await startServiceAdmin({ service: 'approvals', bus, logger });
  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'stopping');
    await admin.close();
    await service.stop();
    await bus.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.send?.({ ready: true, url: service.url });
} catch (err) {
  logger.fatal({ err: describeError(err) }, 'approvals service failed to start');
  process.exit(1);
}
