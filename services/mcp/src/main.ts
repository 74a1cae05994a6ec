/**
 * Runs the MCP service (the Portcullis MCP server and MCP gateway). Environment:
 *   PORTCULLIS_CONFIG          portcullis.yaml (default ./portcullis.yaml)
 *   PORTCULLIS_MCP_PORT        default 8095 (on 127.0.0.1; PORTCULLIS_MCP_HOST to change)
 *   PORTCULLIS_OIDC_ISSUER     default http://127.0.0.1:9400
 *   PORTCULLIS_OIDC_AUDIENCE   default portcullis
 *   PORTCULLIS_KAFKA_BROKERS, PORTCULLIS_REGISTRY_URL, PORTCULLIS_TOPIC_NAMESPACE: the bus
 */
import { busConfigFromEnv, createBus, createIdentityVerifier, trustedIssuerFromEnv, createLogger, gateCheck, intSetting, startServiceAdmin } from '@portcullis/kit';
import { connectCommandGate } from '@portcullis/policy-decision';
import { loadMcpServiceConfig } from './config.ts';
import { startMcpService } from './service.ts';

const logger = createLogger('mcp');
const config = loadMcpServiceConfig(process.env.PORTCULLIS_CONFIG ?? 'portcullis.yaml');
const bus = createBus({ config: busConfigFromEnv('mcp'), logger });
const issuer = trustedIssuerFromEnv();
const service = await startMcpService({
  config,
  bus,
  logger,
  verifier: createIdentityVerifier({ issuers: [issuer] }),
  issuer: issuer.issuer,
  connectGate: connectCommandGate,
  port: intSetting(process.env, 'PORTCULLIS_MCP_PORT', 8095),
  host: process.env.PORTCULLIS_MCP_HOST ?? '127.0.0.1',
});
// Health, readiness (the bus, and the gate: policy state fresh at the edge) and metrics on the admin port.
const admin = await startServiceAdmin({ service: 'mcp', bus, logger, checks: [gateCheck(service.gate)] });
logger.info({ url: `${service.url}/mcp`, upstreams: config.upstreams.map((u) => u.name) }, 'MCP service listening');
process.send?.('ready');

const shutdown = async (): Promise<void> => {
  await service.stop().catch(() => undefined);
  await admin.close().catch(() => undefined);
  await bus.disconnect().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
