/**
 * `portcullis resources`: what the caller may connect to, from the query API
 * (GET /resources: the gateway's resources the policy in force admits the
 * caller to), with the command that reaches each.
 */
import type { Command } from 'commander';
import { request } from 'undici';
import { PortcullisError } from '@portcullis/kit';
import { isSafeEndpoint } from '../auth/discovery.ts';
import { resolveIssuer } from '../auth/settings.ts';
import { tokenSource } from '../auth/token-source.ts';
import { failsCleanly } from '../failure.ts';
import { apiUrl } from './audit.ts';

interface ResourcesAnswer {
  policyVersion: number;
  items: { name: string; kind: 'postgres' | 'ssh' | 'http' | 'kubernetes'; tags: string[]; rules: { id: string; effect: string }[] }[];
}

const HOW: Record<ResourcesAnswer['items'][number]['kind'], (name: string) => string> = {
  postgres: (n) => `portcullis connect ${n}`,
  ssh: (n) => `portcullis ssh ${n}`,
  kubernetes: (n) => `portcullis kube config ${n}`,
  http: (n) => `curl -H "Authorization: Bearer …" <gateway>/r/${n}/`,
};

export function formatResources(answer: ResourcesAnswer): string {
  if (answer.items.length === 0) return `No resources: the policy in force (version ${answer.policyVersion}) admits you to none.`;
  const width = Math.max(...answer.items.map((r) => r.name.length));
  const lines = answer.items.map((r) => `${r.name.padEnd(width)}  ${r.kind.padEnd(10)}  ${(r.tags.join(',') || '-').padEnd(16)}  ${HOW[r.kind](r.name)}   (${r.rules.map((x) => `${x.effect} ${x.id}`).join(', ')})`);
  return [...lines, `policy version ${answer.policyVersion}`].join('\n');
}

export function registerResourcesCommand(program: Command): void {
  program
    .command('resources')
    .description('list the resources you may connect to (query API, PORTCULLIS_API_URL) and how')
    .option('--issuer <url>', 'the OpenID provider')
    .option('--json', 'print JSON')
    .action(failsCleanly(async (o: { issuer?: string; json?: boolean }) => {
      const base = apiUrl();
      if (!isSafeEndpoint(base)) throw new PortcullisError('PCL_ERR_CONFIG', `the query API ${base} is not https: the access token is only sent over TLS (or on loopback)`);
      const { accessToken } = await tokenSource(resolveIssuer(o.issuer)).token();
      const res = await request(`${base}/resources`, { headers: { accept: 'application/json', authorization: `Bearer ${accessToken}` } }).catch((err: Error) => {
        throw new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `cannot reach the query API at ${base}: ${err.message}`);
      });
      const text = await res.body.text();
      if (res.statusCode >= 400) {
        let message = text.slice(0, 300);
        try {
          const e = JSON.parse(text) as { code: string; message: string };
          message = `${e.message} (${e.code})`;
        } catch { /* not JSON */ }
        throw new PortcullisError(res.statusCode === 401 ? 'PCL_ERR_UNAUTHENTICATED' : 'PCL_ERR_GATEWAY_UNREACHABLE', `the query API refused: ${message}`);
      }
      const answer = JSON.parse(text) as ResourcesAnswer;
      console.log(o.json ? JSON.stringify(answer, null, 2) : formatResources(answer));
    }));
}
