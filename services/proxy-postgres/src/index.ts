export { createPostgresProxy, type PostgresProxy, type PostgresProxyDeps } from './proxy.ts';
export { loadProxyConfig, parseProxyConfig, ProxyConfig, PostgresResource, type ProxyConfigInput } from './config.ts';
export type { CommandGate, SessionEventSink, IdentityVerifier } from './ports.ts';
export { startPostgresGateway, type PostgresGateway } from './gateway.ts';
export { postgresSectionOf, postgresEngine } from './config.ts';
// The MCP server's `query` tool masks result rows with this engine's masking (services/mcp).
export { readCredential } from './config.ts';
export { TargetCatalog, type ResultColumn } from './catalog.ts';
export { planResult, maskRowValues, loadMaskingLibrary, ALWAYS_SCRUBBED, type ResultPlan, type MaskingLibrary } from './result-masking.ts';
