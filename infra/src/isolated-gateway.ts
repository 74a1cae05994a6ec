/**
 * Environment for running the gateway's services as processes beside
 * everything else on the shared stack: a topic namespace and database
 * schemas of their own, every port chosen by the kernel (0), and a
 * portcullis.yaml with one resource per protocol whose credentials are files
 * generated here. Used by the built-services test and the start-time
 * benchmark; `npm start` has its own fixed ports and demo targets.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { AdminService } from '@portcullis/kit';
import { HOST, POSTGRES_PORT } from './ports.ts';
import { postgresUrl } from './postgres.ts';

export interface IsolatedGateway {
  namespace: string;
  configFile: string;
  /** The PostgreSQL resource's name in portcullis.yaml. */
  database: string;
  envOf(service: AdminService): NodeJS.ProcessEnv;
}

/** `dir` holds portcullis.yaml, the credential files and the SSH proxy's data. */
export function isolatedGateway(dir: string, target: { pgUser: string; pgDatabase: string; pgPasswordFile: string }): IsolatedGateway {
  const id = randomBytes(4).toString('hex');
  const namespace = `t-gw-${id}`;
  mkdirSync(dir, { recursive: true });
  const tokenFile = join(dir, 'api-token');
  writeFileSync(tokenFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const sshKeyFile = join(dir, 'ssh-credential');
  writeFileSync(sshKeyFile, randomBytes(24).toString('hex'), { mode: 0o600 });
  const database = 'gw-db';
  const config = {
    resources: [
      {
        name: database, protocol: 'postgres', tags: ['test'],
        target: { host: HOST, port: POSTGRES_PORT, database: target.pgDatabase, user: target.pgUser, tls: 'disable' },
        credential: { file: target.pgPasswordFile },
      },
      {
        name: 'gw-host', protocol: 'ssh', tags: ['test'],
        // Nothing listens there: the proxy connects to a target per command only.
        target: { host: HOST, port: 1, user: 'nobody', hostKeyFingerprint: `SHA256:${'A'.repeat(43)}` },
        credential: { file: sshKeyFile, kind: 'password' },
      },
      { name: 'gw-api', protocol: 'http', tags: ['test'], baseUrl: `http://${HOST}:1`, credential: { file: tokenFile } },
    ],
    postgres: { listen: { host: HOST, port: 0 }, allowCleartextOnLoopback: true },
    ssh: {},
    http: {},
  };
  const configFile = join(dir, 'portcullis.yaml');
  writeFileSync(configFile, stringify(config));
  const common: NodeJS.ProcessEnv = {
    ...process.env,
    PORTCULLIS_TOPIC_NAMESPACE: namespace,
    PORTCULLIS_CONFIG: configFile,
    PORTCULLIS_ADMIN_PORT: '0',
    PORTCULLIS_PG_URL: postgresUrl('portcullis'),
    PORTCULLIS_AUDIT_SCHEMA: `gw_audit_${id}`,
    PORTCULLIS_REPLAY_SCHEMA: `gw_replay_${id}`,
    PORTCULLIS_LOG_LEVEL: 'info',
  };
  const own: Record<AdminService, NodeJS.ProcessEnv> = {
    'policy-decision': { PORTCULLIS_PDP_TRANSACTIONAL_ID: `${namespace}-pdp` },
    'proxy-postgres': {},
    'proxy-ssh': { PORTCULLIS_SSH_PORT: '0', PORTCULLIS_SSH_KEYS_PORT: '0', PORTCULLIS_SSH_DATA_DIR: join(dir, 'proxy-ssh') },
    'proxy-http': { PORTCULLIS_HTTP_PORT: '0' },
    approvals: { PORTCULLIS_APPROVALS_PORT: '0' },
    'audit-projection': { PORTCULLIS_API_PORT: '0' },
    'replay-projection': { PORTCULLIS_REPLAY_API_PORT: '0' },
    console: { PORTCULLIS_CONSOLE_PORT: '0' },
    mcp: { PORTCULLIS_MCP_PORT: '0' },
  };
  return { namespace, configFile, database, envOf: (service) => ({ ...common, ...own[service] }) };
}
