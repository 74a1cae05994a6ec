export { createPostgresProxy, type PostgresProxy, type PostgresProxyDeps } from './proxy.ts';
export { loadProxyConfig, parseProxyConfig, ProxyConfig, PostgresResource, type ProxyConfigInput } from './config.ts';
export type { CommandGate, SessionEventSink, IdentityVerifier } from './ports.ts';
export { startPostgresGateway, type PostgresGateway } from './gateway.ts';
export { postgresSectionOf, postgresEngine } from './config.ts';
