/**
 * kubectl through the gateway with the cached login:
 *
 *   portcullis kube config <resource>   adds (or replaces) a context in the kubeconfig whose user runs
 *                                       `portcullis kube credential`, and makes it current
 *   portcullis kube credential          the client-go exec credential plugin: prints an ExecCredential
 *                                       (client.authentication.k8s.io/v1) with the current token and its
 *                                       expiry, so kubectl asks again once it expires
 *
 *   PORTCULLIS_HTTP_GATEWAY   the HTTP proxy (default https://127.0.0.1:8443); clusters are at /r/<resource>
 *   PORTCULLIS_GATEWAY_CA     PEM CA of the gateway's certificate (the kubeconfig's certificate-authority)
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parse, stringify } from 'yaml';
import { PortcullisError } from '@portcullis/kit';
import { resolveIssuer } from '../auth/settings.ts';
import { tokenSource } from '../auth/token-source.ts';
import { failsCleanly } from '../failure.ts';

const BIN = fileURLToPath(new URL('../../bin/portcullis.js', import.meta.url));
export const EXEC_CREDENTIAL_API = 'client.authentication.k8s.io/v1';

interface Named<T> { name: string; [key: string]: unknown; cluster?: T; context?: T; user?: T }
interface KubeConfig {
  apiVersion?: string;
  kind?: string;
  'current-context'?: string;
  clusters?: Named<unknown>[];
  contexts?: Named<unknown>[];
  users?: Named<unknown>[];
  [key: string]: unknown;
}

export interface KubeContextSpec {
  resource: string;
  gatewayUrl: string;
  caFile?: string;
  issuer?: string;
  namespace?: string;
}

/** The kubeconfig with the resource's cluster, user and context put in (replacing ones of the same name) and made current. */
export function withPortcullisContext(config: KubeConfig, spec: KubeContextSpec): KubeConfig {
  const name = `portcullis-${spec.resource}`;
  const put = (list: Named<unknown>[] | undefined, entry: Named<unknown>): Named<unknown>[] => [...(list ?? []).filter((e) => e.name !== name), entry];
  const server = `${spec.gatewayUrl.replace(/\/$/, '')}/r/${encodeURIComponent(spec.resource)}`;
  return {
    ...config,
    apiVersion: 'v1',
    kind: 'Config',
    clusters: put(config.clusters, { name, cluster: { server, ...(spec.caFile ? { 'certificate-authority': spec.caFile } : {}) } }),
    users: put(config.users, {
      name,
      user: {
        exec: {
          apiVersion: EXEC_CREDENTIAL_API,
          command: process.execPath,
          args: [BIN, 'kube', 'credential', ...(spec.issuer ? ['--issuer', spec.issuer] : [])],
          interactiveMode: 'Never',
          provideClusterInfo: false,
          installHint: 'portcullis kube credential comes with the portcullis command; log in with portcullis login',
        },
      },
    }),
    contexts: put(config.contexts, { name, context: { cluster: name, user: name, ...(spec.namespace ? { namespace: spec.namespace } : {}) } }),
    'current-context': name,
  };
}

export function execCredential(token: string, expiresAt: Date | undefined): Record<string, unknown> {
  return {
    apiVersion: EXEC_CREDENTIAL_API,
    kind: 'ExecCredential',
    status: { token, ...(expiresAt ? { expirationTimestamp: expiresAt.toISOString().replace(/\.\d{3}Z$/, 'Z') } : {}) },
  };
}

const defaultKubeconfig = (): string => (process.env.KUBECONFIG ?? '').split(':').find(Boolean) ?? join(homedir(), '.kube', 'config');

export function registerKubeCommands(program: Command): void {
  const kube = program.command('kube').description('kubectl through the gateway: a kubeconfig context with an exec credential plugin');

  kube.command('config')
    .description('add a context for a Kubernetes resource to the kubeconfig and make it current')
    .argument('<resource>', 'the Kubernetes resource')
    .option('--kubeconfig <file>', 'the kubeconfig to change (default: $KUBECONFIG\'s first file or ~/.kube/config)')
    .option('--gateway <url>', 'the gateway\'s HTTPS address', process.env.PORTCULLIS_HTTP_GATEWAY || 'https://127.0.0.1:8443')
    .option('--gateway-ca <file>', 'PEM CA of the gateway\'s certificate', process.env.PORTCULLIS_GATEWAY_CA)
    .option('--namespace <ns>', 'the context\'s namespace')
    .option('--issuer <url>', 'the OpenID provider the plugin gets tokens from (default: as for every command)')
    .action(failsCleanly(async (resource: string, o: { kubeconfig?: string; gateway: string; gatewayCa?: string; namespace?: string; issuer?: string }) => {
      const url = URL.parse(o.gateway);
      // kubectl sends bearer tokens only over https; so do we.
      if (!url || url.protocol !== 'https:') throw new PortcullisError('PCL_ERR_CONFIG', `the gateway address must be https, got "${o.gateway}"`);
      const file = resolve(o.kubeconfig ?? defaultKubeconfig());
      let current: KubeConfig = {};
      try {
        current = (parse(await readFile(file, 'utf8')) as KubeConfig | null) ?? {};
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new PortcullisError('PCL_ERR_CONFIG', `cannot read the kubeconfig ${file}: ${(err as Error).message}`);
      }
      const next = withPortcullisContext(current, { resource, gatewayUrl: o.gateway, caFile: o.gatewayCa ? resolve(o.gatewayCa) : undefined, issuer: o.issuer, namespace: o.namespace });
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      await writeFile(file, stringify(next), { mode: 0o600 });
      await chmod(file, 0o600);
      console.log(`Context "portcullis-${resource}" written to ${file} and made current: kubectl get pods`);
    }));

  kube.command('credential')
    .description('client-go exec credential plugin: print an ExecCredential with the current access token')
    .option('--issuer <url>', 'the OpenID provider')
    .action(failsCleanly(async (o: { issuer?: string }) => {
      const { accessToken, expiresAt } = await tokenSource(resolveIssuer(o.issuer)).token();
      process.stdout.write(`${JSON.stringify(execCredential(accessToken, expiresAt))}\n`);
    }));
}
