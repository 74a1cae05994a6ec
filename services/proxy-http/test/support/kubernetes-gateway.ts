/**
 * The HTTP proxy serving HTTPS in front of the Kubernetes API double,
 * deciding at the edge on a test's bus, and the real kubectl pointed at it.
 * Shared by this package's tests and the e2e tests (exported as
 * @portcullis/proxy-http/test-support).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { createIdentityVerifier, silentLogger, type Bus } from '@portcullis/kit';
import { connectCommandGate } from '@portcullis/policy-decision';
import { selfSignedCertificate, startKubernetesDouble, type KubernetesDouble } from '@portcullis/infra/targets';
import { createHttpProxy } from '../../src/app.ts';
import { parseHttpProxyConfig } from '../../src/config.ts';

export interface KubernetesGateway {
  /** The API server double behind the proxy. */
  cluster: KubernetesDouble;
  /** The cluster as kubectl reaches it through the proxy, and the CA that signed the proxy's certificate. */
  server: string;
  ca: string;
  close(): Promise<void>;
}

/** `resource`: the cluster's name in portcullis.yaml (default k8s-prod, tagged production). */
export async function startKubernetesGateway({ bus, resource = 'k8s-prod', tags = ['production'], issuer = 'http://127.0.0.1:9400' }: { bus: Bus; resource?: string; tags?: string[]; issuer?: string }): Promise<KubernetesGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-k8s-gateway-'));
  // The gateway's service-account token: the API server double refuses anything else.
  const clusterToken = randomBytes(24).toString('hex');
  const cluster = await startKubernetesDouble({ token: clusterToken });
  const { gate, sink } = await connectCommandGate({ bus, logger: silentLogger(), decision: 'edge', service: 'proxy-http-test', verdictTimeoutMs: 20_000, policyStalenessMs: 10_000 });
  const config = parseHttpProxyConfig({
    http: { verdictTimeoutMs: 20_000 },
    resources: [{ name: resource, protocol: 'kubernetes', tags, server: cluster.url, token: { env: 'CLUSTER_TOKEN' } }],
  });
  const tls = selfSignedCertificate(dir, 1);
  const app = createHttpProxy({
    config, gate, sink, tls,
    verifier: createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] }),
    logger: silentLogger(),
    env: { CLUSTER_TOKEN: clusterToken },
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return {
    cluster,
    server: `https://127.0.0.1:${port}/r/${resource}`,
    ca: tls.certFile,
    async close() {
      await app.close().catch(() => undefined);
      await gate.close().catch(() => undefined);
      await cluster.app.close().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The real kubectl with a kubeconfig (in a temp dir of its own) naming `server` and the caller's token; without `ca` the certificate is not verified. */
export async function kubectl(target: { server: string; ca?: string }, args: string[], token: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'pcl-kube-'));
  const kubeconfig = join(dir, 'config');
  const trust = target.ca ? `certificate-authority: "${target.ca}"` : 'insecure-skip-tls-verify: true';
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: gw',
    `clusters: [{ name: gw, cluster: { server: "${target.server}", ${trust} } }]`,
    'contexts: [{ name: gw, context: { cluster: gw, user: me, namespace: default } }]',
    `users: [{ name: me, user: { token: "${token}" } }]`,
  ].join('\n'), { mode: 0o600 });
  try {
    return await new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout', '20s', ...(process.env.KDEBUG ? ['-v=8'] : []), ...args], { env: { PATH: process.env.PATH ?? '', HOME: dir } }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
