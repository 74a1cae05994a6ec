import { spawn } from 'node:child_process';
import pg from 'pg';
import { pino } from 'pino';
import { parseProxyConfig, type ProxyConfigInput } from '../../src/config.ts';
import { createPostgresProxy, type PostgresProxy } from '../../src/proxy.ts';
import { CollectingSink } from './collecting-sink.ts';
import { InMemoryGate, type Judge } from './in-memory-gate.ts';
import type { TestTarget } from './target-database.ts';
import { TestVerifier, tokenFor } from './test-verifier.ts';

export interface RunningProxy {
  port: number;
  gate: InMemoryGate;
  sink: CollectingSink;
  verifier: TestVerifier;
  proxy: PostgresProxy;
  resourceName: string;
  /** Runs psql against the proxy; `input` goes to stdin. */
  psql(args: string[], options?: { input?: string; token?: string; sslmode?: string; env?: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** A pg.Client connected through the proxy (TLS, token as password). */
  client(options?: Partial<pg.ClientConfig>): Promise<pg.Client>;
  clientConfig(options?: Partial<pg.ClientConfig>): pg.ClientConfig;
  close(): Promise<void>;
}

export const allowAll: Judge = () => ({ effect: 'allow', ruleIds: ['allow-all'] });

export async function startProxy(target: TestTarget, options: { judge?: Judge; config?: Partial<ProxyConfigInput> } = {}): Promise<RunningProxy> {
  const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, ...options.config });
  const gate = new InMemoryGate(options.judge ?? allowAll);
  const sink = new CollectingSink();
  const verifier = new TestVerifier();
  const logger = pino({ level: process.env.PCL_TEST_LOG ?? 'silent' });
  const proxy = createPostgresProxy({ config, gate, sink, verifier, logger });
  const { port } = await proxy.listen(0, '127.0.0.1');
  const resourceName = target.resource.name;
  const clientConfig = (o: Partial<pg.ClientConfig> = {}): pg.ClientConfig => ({
    host: '127.0.0.1',
    port,
    user: 'alice',
    database: resourceName,
    password: tokenFor('alice'),
    ssl: { rejectUnauthorized: false },
    ...o,
  });
  return {
    port,
    gate,
    sink,
    verifier,
    proxy,
    resourceName,
    clientConfig,
    psql(args, o = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('psql', ['-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'alice', '-d', resourceName, ...args], {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            PGPASSWORD: o.token ?? tokenFor('alice'),
            PGSSLMODE: o.sslmode ?? 'require',
            PGCONNECT_TIMEOUT: '10',
            ...o.env,
          },
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(o.input ?? '');
      });
    },
    async client(o = {}) {
      const c = new pg.Client(clientConfig(o));
      await c.connect();
      return c;
    },
    close: () => proxy.close(),
  };
}
