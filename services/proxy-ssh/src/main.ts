/**
 * Runs the SSH proxy. Environment:
 *   PORTCULLIS_CONFIG          path to portcullis.yaml (required)
 *   PORTCULLIS_SSH_PORT        default 2222
 *   PORTCULLIS_SSH_HOST        default 127.0.0.1
 *   PORTCULLIS_SSH_KEYS_PORT   key registration API, default 2280 (0 = off)
 *   PORTCULLIS_SSH_DATA_DIR    host key + registered keys, default ./data/proxy-ssh
 *   PORTCULLIS_OIDC_ISSUER     default http://127.0.0.1:9400
 *   PORTCULLIS_OIDC_AUDIENCE   default portcullis
 *   bus: PORTCULLIS_KAFKA_BROKERS, PORTCULLIS_REGISTRY_URL, PORTCULLIS_TOPIC_NAMESPACE
 *   PORTCULLIS_ADMIN_PORT, PORTCULLIS_ADMIN_HOST  /healthz, /readyz, /metrics (default 127.0.0.1:9603)
 */
import { resolve } from 'node:path';
import { busConfigFromEnv, createBus, createIdentityVerifier, trustedIssuerFromEnv, createLogger, intSetting, gateCheck, startServiceAdmin, targetCatalogCheck, startAccessGuard } from '@portcullis/kit';
import { connectCommandGate } from '@portcullis/policy-decision';
import { loadSshProxyConfig, readCredential } from './config.ts';
import { createSshProxy } from './proxy.ts';

const logger = createLogger('proxy-ssh');
const env = process.env;
if (!env.PORTCULLIS_CONFIG) {
  logger.fatal('PORTCULLIS_CONFIG must name portcullis.yaml');
  process.exit(2);
}
const config = loadSshProxyConfig(env.PORTCULLIS_CONFIG);
const bus = createBus({ config: busConfigFromEnv('proxy-ssh'), logger });
const { gate, sink } = await connectCommandGate({
  bus,
  logger,
  decision: config.decision,
  service: 'proxy-ssh',
  verdictTimeoutMs: config.verdictTimeoutMs,
  policyStalenessMs: config.policyStalenessMs,
});
// The revocation list is read whole before the proxy accepts anyone.
const guard = await startAccessGuard({ bus, logger, service: 'proxy-ssh', tokenGraceMs: config.tokenGraceMs, stalenessMs: config.policyStalenessMs });
const verifier = guard.guardVerifier(createIdentityVerifier({
  issuers: [trustedIssuerFromEnv(env)],
}));
const proxy = createSshProxy({
  config,
  gate,
  sink: guard.guardSink(sink),
  verifier,
  guard,
  dataDir: resolve(env.PORTCULLIS_SSH_DATA_DIR ?? 'data/proxy-ssh'),
  logger,
});
const host = env.PORTCULLIS_SSH_HOST ?? '127.0.0.1';
await proxy.listen(intSetting(env, 'PORTCULLIS_SSH_PORT', 2222), host);
const keysPort = intSetting(env, 'PORTCULLIS_SSH_KEYS_PORT', 2280);
if (keysPort > 0) await proxy.keysApi.listen(keysPort, host);
const admin = await startServiceAdmin({ service: 'proxy-ssh', bus, logger, checks: [gateCheck(gate), targetCatalogCheck(config.resources, readCredential)] });
process.send?.('ready');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void (async () => {
      await proxy.drain(config.drainGraceMs, 'the gateway is shutting down');
      await admin.close();
      await proxy.close();
      await guard.stop();
      await gate.close();
      await bus.disconnect();
      process.exit(0);
    })();
  });
}
