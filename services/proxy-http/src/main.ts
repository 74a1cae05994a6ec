/**
 * Runs the HTTP / Kubernetes proxy. Environment:
 *   PORTCULLIS_CONFIG          portcullis.yaml (default ./portcullis.yaml)
 *   PORTCULLIS_HTTP_PORT       default 8443 (on 127.0.0.1; PORTCULLIS_HTTP_HOST to change); HTTPS when
 *                              portcullis.yaml has http.tls { cert, key }
 *   PORTCULLIS_OIDC_ISSUER     default http://127.0.0.1:9400
 *   PORTCULLIS_OIDC_AUDIENCE   default portcullis
 *   PORTCULLIS_KAFKA_BROKERS, PORTCULLIS_REGISTRY_URL, PORTCULLIS_TOPIC_NAMESPACE: the bus
 *   PORTCULLIS_ADMIN_PORT, PORTCULLIS_ADMIN_HOST  /healthz, /readyz, /metrics (default 127.0.0.1:9604)
 */
import { readFileSync } from 'node:fs';
import { busConfigFromEnv, createBus, createIdentityVerifier, trustedIssuerFromEnv, createLogger, intSetting, gateCheck, startServiceAdmin, targetCatalogCheck, startAccessGuard } from '@portcullis/kit';
import { connectCommandGate } from '@portcullis/policy-decision';
import { loadHttpProxyConfig } from './config.ts';
import { createHttpProxy } from './app.ts';
import { readCredential } from './credentials.ts';

const logger = createLogger('proxy-http');
const config = loadHttpProxyConfig(process.env.PORTCULLIS_CONFIG ?? 'portcullis.yaml');
const bus = createBus({ config: busConfigFromEnv('proxy-http'), logger });
const { gate, sink } = await connectCommandGate({
  bus,
  logger,
  decision: config.settings.decision,
  service: 'proxy-http',
  verdictTimeoutMs: config.settings.verdictTimeoutMs,
  policyStalenessMs: config.settings.policyStalenessMs,
});
// The revocation list is read whole before the proxy accepts anyone.
const guard = await startAccessGuard({ bus, logger, service: 'proxy-http', tokenGraceMs: config.settings.tokenGraceMs, stalenessMs: config.settings.policyStalenessMs });
const verifier = guard.guardVerifier(createIdentityVerifier({ issuers: [trustedIssuerFromEnv()] }));
const tlsFiles = config.settings.tls;
const tls = tlsFiles ? { cert: readFileSync(tlsFiles.cert), key: readFileSync(tlsFiles.key) } : undefined;
const app = createHttpProxy({ config, gate, sink: guard.guardSink(sink), verifier, logger, guard, ...(tls ? { tls } : {}) });
const port = intSetting(process.env, 'PORTCULLIS_HTTP_PORT', 8443);
const host = process.env.PORTCULLIS_HTTP_HOST ?? '127.0.0.1';
await app.listen({ port, host });
logger.info({ port, host, https: tls !== undefined, resources: config.resources.map((r) => r.name) }, 'HTTP proxy listening');
const admin = await startServiceAdmin({
  service: 'proxy-http', bus, logger,
  checks: [gateCheck(gate), targetCatalogCheck(config.resources, (r) => {
    const ref = r.protocol === 'kubernetes' ? r.token : r.credential;
    if (ref) readCredential(ref);
  })],
});
process.send?.('ready');

const shutdown = async (): Promise<void> => {
  // Drain: requests in flight finish within drainGraceMs; watches and upgraded streams are then ended.
  await guard.drain({ graceMs: config.settings.drainGraceMs, reason: 'the gateway is shutting down' });
  await admin.close().catch(() => undefined);
  await app.close().catch(() => undefined);
  await guard.stop();
  await gate.close().catch(() => undefined);
  await bus.disconnect().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown());
process.once('SIGINT', () => void shutdown());
