/**
 * The HTTP proxy for bench:http as it runs in a deployment: its own process
 * (src/main.ts, deciding at the edge), with the PDP — which verifies every
 * edge verdict from the log — in the bench's process instead of the proxy's.
 * The proxy's CPU and RSS are read from /proc, so they are the proxy's alone.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { createBus, busConfigFromEnv, silentLogger, type Bus } from '@portcullis/kit';
import { publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';

export interface ProxyProcess {
  url: string;
  /** CPU seconds (user + system) the proxy process has used so far. */
  cpuSeconds(): number;
  /** The proxy process's resident set now, MiB. */
  rssMiB(): number;
  close(): Promise<void>;
}

const TICKS_PER_SECOND = 100; // Linux USER_HZ

export async function startProxyProcess(options: {
  dir: string;
  port: number;
  upstream: string;
  policy: string;
  /** Extra node flags for the proxy (e.g. --cpu-prof --cpu-prof-dir=…). */
  nodeFlags?: string[];
}): Promise<ProxyProcess> {
  const bus: Bus = createBus({ config: busConfigFromEnv('bench-http'), logger: silentLogger(), namespace: `bench-http-${process.pid}-${Date.now()}`, partitions: 1 });
  await bus.connect();
  const published = await publishPolicy({ bus, yamlText: options.policy, fileName: 'bench-policy.yaml' });
  if (!published.ok) throw new Error(`bench policy refused: ${JSON.stringify(published)}`);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  const configFile = join(options.dir, 'portcullis.yaml');
  writeFileSync(configFile, stringify({
    resources: [
      { name: 'api', protocol: 'http', baseUrl: options.upstream, credential: { env: 'BENCH_API_TOKEN' }, inject: 'bearer' },
      { name: 'k8s', protocol: 'kubernetes', server: options.upstream, token: { env: 'BENCH_K8S_TOKEN' } },
    ],
    http: { maxMaskedBodyBytes: 1024 * 1024, drainGraceMs: 0 },
  }));
  const child: ChildProcess = fork(join(import.meta.dirname, '..', 'src', 'main.ts'), [], {
    execArgv: ['--import', 'tsx', ...(options.nodeFlags ?? [])],
    env: {
      ...process.env,
      PORTCULLIS_CONFIG: configFile,
      PORTCULLIS_TOPIC_NAMESPACE: bus.names.namespace,
      PORTCULLIS_HTTP_PORT: String(options.port),
      PORTCULLIS_ADMIN_PORT: '0',
      PORTCULLIS_LOG_LEVEL: 'warn',
      BENCH_API_TOKEN: 'bench-upstream-token',
      BENCH_K8S_TOKEN: 'bench-k8s-token',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`proxy said ${JSON.stringify(m)}`))));
    child.once('exit', (code) => reject(new Error(`the proxy exited (${code}) before it was ready`)));
  });
  const pid = child.pid!;
  return {
    url: `http://127.0.0.1:${options.port}`,
    cpuSeconds() {
      // /proc/<pid>/stat: fields 14 and 15 (utime, stime) after the parenthesised command name.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    },
    rssMiB() {
      const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
      return Number(line?.split(/\s+/)[1] ?? NaN) / 1024;
    },
    async close() {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      await pdp.stop().catch(() => undefined);
      await bus.disconnect().catch(() => undefined);
    },
  };
}
