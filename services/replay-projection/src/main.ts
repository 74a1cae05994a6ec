/**
 * The replay projection process, serving the full query API (audit,
 * identities, replay) — on PORTCULLIS_REPLAY_API_PORT (default 8092; approvals has 8091), or with
 * PORTCULLIS_QUERY_API_ALL=1 as the single query API process on
 * PORTCULLIS_API_PORT (8090) that also runs the audit projection.
 * docs/projections.md#processes.
 */
import { busConfigFromEnv, createBus, createIdentityVerifier, createLogger, createPool, databaseCheck, followPresence, followRevocations, followTopic, followerCheck, loadResourceCatalogue, projectionCheck, projectionMetrics, startServiceAdmin, trustedIssuerFromEnv } from '@portcullis/kit';
import { evolvePolicyState, initialPolicyState, type PolicyState } from '@portcullis/policy-decision';
import { adminRoutes, buildApp, queryConfigFromEnv, resourcesRoutes, revocationLogRoutes, startAuditProjection, startRevocationLog, whatIfRoutes } from '@portcullis/audit-projection';
import { replayRoutes } from './routes.ts';
import { startReplayProjection } from './projection.ts';

const logger = createLogger('replay-projection');
const config = queryConfigFromEnv();
const bus = createBus({ config: busConfigFromEnv('replay-projection'), logger });
const pool = createPool(config.pgUrl);
const metrics = projectionMetrics();
const replay = await startReplayProjection({ bus, pool, logger, schema: config.replaySchema, metrics });
// PORTCULLIS_QUERY_API_ALL=1: this process also runs the audit projection and serves every route (one "query API" process).
const all = process.env.PORTCULLIS_QUERY_API_ALL === '1';
const audit = all ? await startAuditProjection({ bus, pool, logger, schema: config.auditSchema, metrics }) : undefined;
const revocationLog = all ? await startRevocationLog({ bus, pool, logger, schema: config.auditSchema, metrics }) : undefined;
let policy: PolicyState = initialPolicyState;
const policies = await followTopic(bus, 'policies', (e) => void (policy = evolvePolicyState(policy, e)), { name: 'replay-policy-follower' });
// GET /resources (portcullis resources): the gateway's resources from portcullis.yaml, when this process is given it.
const catalogue = process.env.PORTCULLIS_CONFIG ? loadResourceCatalogue(process.env.PORTCULLIS_CONFIG) : [];
const revocations = await followRevocations(bus, 'query-api-revocations');
const presence = await followPresence(bus, 'query-api-presence');
const app = await buildApp({
  pool, logger, schema: config.auditSchema, auditorGroup: config.auditorGroup, adminGroup: config.adminGroup, metrics: [metrics.registry], policyState: () => policy, revocations: () => revocations.state(),
  // asOf covers the views this process builds (both with PORTCULLIS_QUERY_API_ALL=1, the setup npm start runs).
  status: () => [replay.status(), ...(audit ? [audit.status()] : []), ...(revocationLog ? [revocationLog.status()] : [])],
  verifier: createIdentityVerifier({ issuers: [{ ...trustedIssuerFromEnv(), issuer: config.oidcIssuer, audience: config.oidcAudience }] }),
  routes: [replayRoutes({ pool, schema: config.replaySchema }), whatIfRoutes({ bus }), resourcesRoutes({ catalogue: () => catalogue, policyState: () => policy }), adminRoutes({ bus, issuer: config.oidcIssuer, revocations, presence, logger }), revocationLogRoutes({ pool, schema: config.auditSchema })],
});
const port = Number(process.env.PORTCULLIS_REPLAY_API_PORT ?? (all ? config.apiPort : 8092));
await app.listen({ port, host: config.apiHost });
logger.info({ port }, 'replay projection running, query API listening');
// /healthz, /readyz, /metrics on PORTCULLIS_ADMIN_PORT (default 9607), apart from the query API.
const admin = await startServiceAdmin({
  service: 'replay-projection', bus, logger, registries: [metrics.registry],
  checks: [
    databaseCheck(pool), projectionCheck(() => replay.status()), ...(audit ? [projectionCheck(() => audit.status())] : []),
    followerCheck('policy-state', policies),
  ],
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    await admin.close();
    await app.close();
    await policies.stop();
    await replay.stop();
    await audit?.stop();
    await revocationLog?.stop();
    await bus.disconnect();
    await pool.end();
    process.exit(0);
  });
}
