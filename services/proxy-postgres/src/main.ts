/**
 * The PostgreSQL proxy process.
 *   PORTCULLIS_CONFIG       portcullis.yaml (default ./portcullis.yaml)
 *   PORTCULLIS_OIDC_ISSUER  issuer of callers' tokens (default http://127.0.0.1:9400)
 *   PORTCULLIS_OIDC_AUDIENCE (default portcullis)
 *   PORTCULLIS_KAFKA_BROKERS, PORTCULLIS_REGISTRY_URL, PORTCULLIS_TOPIC_NAMESPACE
 *   PORTCULLIS_ADMIN_PORT, PORTCULLIS_ADMIN_HOST  /healthz, /readyz, /metrics (default 127.0.0.1:9602)
 */
import { busConfigFromEnv, createBus, createLogger, describeError, gateCheck, startServiceAdmin, targetCatalogCheck } from '@portcullis/kit';
import { loadProxyConfig, readCredential } from './config.ts';
import { startPostgresGateway } from './gateway.ts';

const logger = createLogger('proxy-postgres');
try {
  const config = loadProxyConfig(process.env.PORTCULLIS_CONFIG ?? 'portcullis.yaml');
  const bus = createBus({ config: busConfigFromEnv('proxy-postgres'), logger });
  const gateway = await startPostgresGateway({
    config,
    bus,
    logger,
    issuer: process.env.PORTCULLIS_OIDC_ISSUER ?? 'http://127.0.0.1:9400',
    audience: process.env.PORTCULLIS_OIDC_AUDIENCE ?? 'portcullis',
  });
  const admin = await startServiceAdmin({
    service: 'proxy-postgres', bus, logger, checks: [gateCheck(gateway.gate), targetCatalogCheck(config.resources, readCredential)],
  });
  const shutdown = async (): Promise<void> => {
    // Drain: running statements finish within drainGraceMs, then every session gets FATAL 57P01.
    await gateway.drain();
    await admin.close();
    await bus.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  process.send?.({ ready: true, port: gateway.port });
} catch (err) {
  logger.fatal({ err: describeError(err) }, 'PostgreSQL proxy failed to start');
  process.exit(1);
}
