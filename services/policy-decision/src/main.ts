/**
 * The policy decision service process.
 *   PORTCULLIS_KAFKA_BROKERS, PORTCULLIS_REGISTRY_URL   where the bus is
 *   PORTCULLIS_PDP_TRANSACTIONAL_ID                     stable id of this instance (default portcullis-pdp-0)
 *   PORTCULLIS_KNOWN_RESOURCES                          comma-separated resource names; others are blocked
 *   PORTCULLIS_TOPIC_NAMESPACE                          topic prefix (tests)
 *   PORTCULLIS_ADMIN_PORT, PORTCULLIS_ADMIN_HOST        /healthz, /readyz, /metrics (default 127.0.0.1:9601)
 */
import { busConfigFromEnv, createBus, createLogger, startServiceAdmin } from '@portcullis/kit';
import { startPolicyDecisionService } from './service.ts';

const logger = createLogger('policy-decision');
const bus = createBus({ config: busConfigFromEnv('policy-decision'), logger });
const known = process.env.PORTCULLIS_KNOWN_RESOURCES?.split(',').map((s) => s.trim()).filter(Boolean);

try {
  const service = await startPolicyDecisionService({
    bus,
    logger,
    transactionalId: process.env.PORTCULLIS_PDP_TRANSACTIONAL_ID ?? 'portcullis-pdp-0',
    ...(known ? { knownResources: known } : {}),
  });
  const admin = await startServiceAdmin({ service: 'policy-decision', bus, logger, checks: service.checks() });
  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'stopping');
    await admin.close();
    await service.stop();
    await bus.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.send?.({ ready: true, policyVersion: service.state().version });
} catch (err) {
  logger.fatal({ err: (err as Error).message }, 'policy decision service failed to start');
  process.exit(1);
}
