/** Loopback addresses and ports of the local stack; the same in docker-compose.yml. */
const env = process.env;
export const KAFKA_PORT = Number(env.PORTCULLIS_KAFKA_PORT ?? 9092);
export const KAFKA_CONTROLLER_PORT = Number(env.PORTCULLIS_KAFKA_CONTROLLER_PORT ?? 9093);
export const REGISTRY_PORT = Number(env.PORTCULLIS_REGISTRY_PORT ?? 8081);
export const POSTGRES_PORT = Number(env.PORTCULLIS_PG_PORT ?? 55432);
export const OIDC_PORT = Number(env.PORTCULLIS_OIDC_PORT ?? 9400);
export const HOST = '127.0.0.1';

export const kafkaBrokers = (): string[] => (env.PORTCULLIS_KAFKA_BROKERS ?? `${HOST}:${KAFKA_PORT}`).split(',');
export const registryUrl = (): string => env.PORTCULLIS_REGISTRY_URL ?? `http://${HOST}:${REGISTRY_PORT}/apis/ccompat/v7`;
