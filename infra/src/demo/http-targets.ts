/**
 * The demo's HTTP targets as one process (npm start runs it like a service):
 * the shop API on PORTCULLIS_DEMO_API_PORT (8180) and the Kubernetes API
 * double on PORTCULLIS_DEMO_KUBERNETES_PORT (8181), both on 127.0.0.1. Each
 * wants the token in its infra/.data/secrets file, which only the gateway's
 * HTTP proxy injects.
 */
import { DEMO_API_PORT, DEMO_KUBERNETES_PORT, HOST } from '../ports.ts';
import { startKubernetesDouble } from '../targets/kubernetes-double.ts';
import { DEMO_SECRETS, demoSecret } from './secrets.ts';
import { startShopApi } from './shop-api.ts';

const api = await startShopApi({ port: DEMO_API_PORT, host: HOST, token: demoSecret(DEMO_SECRETS.api).value });
const cluster = await startKubernetesDouble({ port: DEMO_KUBERNETES_PORT, host: HOST, token: demoSecret(DEMO_SECRETS.cluster).value });
console.log(`demo shop API on http://${HOST}:${DEMO_API_PORT}/v1, Kubernetes API double on ${cluster.url}`);

const stop = (): void => void Promise.allSettled([api.close(), cluster.app.close()]).then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
