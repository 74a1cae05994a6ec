/** Loopback addresses and ports of the local stack; the same in docker-compose.yml. */
import { createServer } from 'node:net';

const env = process.env;
export const KAFKA_PORT = Number(env.PORTCULLIS_KAFKA_PORT ?? 9092);
export const KAFKA_CONTROLLER_PORT = Number(env.PORTCULLIS_KAFKA_CONTROLLER_PORT ?? 9093);
export const REGISTRY_PORT = Number(env.PORTCULLIS_REGISTRY_PORT ?? 8081);
export const POSTGRES_PORT = Number(env.PORTCULLIS_PG_PORT ?? 55432);
export const OIDC_PORT = Number(env.PORTCULLIS_OIDC_PORT ?? 9400);
export const HOST = '127.0.0.1';

/**
 * What `npm start` runs on top of the stack: the gateway's proxies (the same
 * variables their main.ts read) and the demo targets behind them. All below
 * the kernel's ephemeral range, where tests bind their own servers (port 0).
 */
export const PROXY_PG_PORT = Number(env.PORTCULLIS_PROXY_PG_PORT ?? 6432);
export const PROXY_SSH_PORT = Number(env.PORTCULLIS_SSH_PORT ?? 2222);
export const PROXY_SSH_KEYS_PORT = Number(env.PORTCULLIS_SSH_KEYS_PORT ?? 2280);
export const PROXY_HTTP_PORT = Number(env.PORTCULLIS_HTTP_PORT ?? 8443);
export const APPROVALS_PORT = Number(env.PORTCULLIS_APPROVALS_PORT ?? 8091);
export const QUERY_API_PORT = Number(env.PORTCULLIS_API_PORT ?? 8090);
export const MCP_PORT = Number(env.PORTCULLIS_MCP_PORT ?? 8095);
export const DEMO_SSHD_PORT = Number(env.PORTCULLIS_DEMO_SSHD_PORT ?? 2022);
export const DEMO_API_PORT = Number(env.PORTCULLIS_DEMO_API_PORT ?? 8180);
export const DEMO_KUBERNETES_PORT = Number(env.PORTCULLIS_DEMO_KUBERNETES_PORT ?? 8181);

export const kafkaBrokers = (): string[] => (env.PORTCULLIS_KAFKA_BROKERS ?? `${HOST}:${KAFKA_PORT}`).split(',');
export const registryUrl = (): string => env.PORTCULLIS_REGISTRY_URL ?? `http://${HOST}:${REGISTRY_PORT}/apis/ccompat/v7`;

/** A loopback port free now (the kernel's choice), for a server a test or benchmark starts itself. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
