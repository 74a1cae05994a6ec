/** What services and tests need to reach the local stack. */
export { kafkaBrokers, registryUrl, freeLoopbackPort, HOST, KAFKA_PORT, REGISTRY_PORT, POSTGRES_PORT, OIDC_PORT } from './ports.ts';
export { postgresConnection, postgresUrl, type PostgresConnection } from './postgres.ts';
export { repoRoot, dataDir, cacheDir } from './paths.ts';
export { startPrivateKafka, type PrivateKafka } from './kafka.ts';
export * from './oidc/index.ts';
export { GATEWAY_SERVICES, gatewayService, builtEntry, sourceEntry, serviceArgs, spawnService, adminPortOf, waitReady, type GatewayService, type Runtime } from './gateway-services.ts';
export { isolatedGateway, type IsolatedGateway } from './isolated-gateway.ts';
