/**
 * The audit projection process: follows the topics into the audit view and
 * serves the query API (without replay routes; the replay-projection process
 * serves the full API — see docs/projections.md#processes).
 */
import { busConfigFromEnv, createBus, createIdentityVerifier, createLogger, createPool, databaseCheck, followPresence, followRevocations, followTopic, followerCheck, loadResourceCatalogue, projectionCheck, projectionMetrics, startServiceAdmin, trustedIssuerFromEnv } from '@portcullis/kit';
import { evolvePolicyState, initialPolicyState, type PolicyState } from '@portcullis/policy-decision';
import { buildApp } from './api/app.ts';
import { whatIfRoutes } from './api/whatif.ts';
import { resourcesRoutes } from './api/resources.ts';
import { adminRoutes } from './api/admin.ts';
import { startRevocationLog } from './revocations/projection.ts';
import { revocationLogRoutes } from './revocations/routes.ts';
import { queryConfigFromEnv } from './config.ts';
import { startAuditProjection } from './projection.ts';

const logger = createLogger('audit-projection');
const config = queryConfigFromEnv();
const bus = createBus({ config: busConfigFromEnv('audit-projection'), logger });
const pool = createPool(config.pgUrl);
const metrics = projectionMetrics();
const projection = await startAuditProjection({ bus, pool, logger, schema: config.auditSchema, metrics });
const revocationLog = await startRevocationLog({ bus, pool, logger, schema: config.auditSchema, metrics });
let policy: PolicyState = initialPolicyState;
const policies = await followTopic(bus, 'policies', (e) => void (policy = evolvePolicyState(policy, e)), { name: 'audit-policy-follower' });
const catalogue = process.env.PORTCULLIS_CONFIG ? loadResourceCatalogue(process.env.PORTCULLIS_CONFIG) : [];
const revocations = await followRevocations(bus, 'query-api-revocations');
const presence = await followPresence(bus, 'query-api-presence');
const app = await buildApp({
  pool, logger, schema: config.auditSchema, auditorGroup: config.auditorGroup, adminGroup: config.adminGroup, metrics: [metrics.registry], policyState: () => policy, revocations: () => revocations.state(),
  status: () => [projection.status(), revocationLog.status()],
  verifier: createIdentityVerifier({ issuers: [{ ...trustedIssuerFromEnv(), issuer: config.oidcIssuer, audience: config.oidcAudience }] }),
  routes: [whatIfRoutes({ bus }), resourcesRoutes({ catalogue: () => catalogue, policyState: () => policy }), adminRoutes({ bus, issuer: config.oidcIssuer, revocations, presence, logger }), revocationLogRoutes({ pool, schema: config.auditSchema })],
});
await app.listen({ port: config.apiPort, host: config.apiHost });
logger.info({ port: config.apiPort }, 'audit projection running, query API listening');
// /healthz, /readyz, /metrics on PORTCULLIS_ADMIN_PORT (default 9606), apart from the query API.
const admin = await startServiceAdmin({
  service: 'audit-projection', bus, logger, registries: [metrics.registry],
  checks: [databaseCheck(pool), projectionCheck(() => projection.status()), followerCheck('policy-state', policies)],
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await admin.close();
    await app.close();
    await policies.stop();
    await projection.stop();
    await revocationLog.stop();
    await bus.disconnect();
    await pool.end();
    process.exit(0);
  });
}
