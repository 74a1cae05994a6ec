// Health, readiness and metrics every service exposes on its admin port. See docs/operations.md#health-readiness-and-metrics.
export { gatewayMetrics, createGatewayMetrics, secondsSince, type GatewayMetrics } from './metrics.ts';
export { readinessReport, runChecks, type ReadinessCheck, type CheckResult, type ReadinessReport } from './readiness.ts';
export { adminSettingsFromEnv, DEFAULT_ADMIN_PORTS, type AdminService, type AdminSettings } from './settings.ts';
export { startAdminServer, type AdminServer, type AdminServerOptions } from './admin-server.ts';
export { busChecks, registryCheck, gateCheck, targetCatalogCheck, followerCheck, databaseCheck, projectionCheck, type BusCheckOptions } from './checks.ts';
export { startServiceAdmin } from './service-admin.ts';
export { startTracing, startSpan, endSpan, traceIdOf, timedVerifier, recordArrival, type Arrival, type Tracing } from './tracing.ts';
