/**
 * End-to-end verdicts through Kafka: a PDP process (src/main.ts) consumes
 * CommandRequested and produces VerdictIssued in transactions; this process
 * plays the proxies' part with the CommandGate. Prints verdicts/s and
 * p50/p99 round-trip latency at concurrency 1 and 32 — the remote mode.
 * Then the edge mode, as every proxy runs by default: the edge gate in this
 * process decides with the same `evaluate` on the policy it follows from the
 * log and resolves once Kafka acknowledged the command and its verdict.
 *   BENCH_SECONDS (default 10) per level.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { newId, nowIso, SessionChain, type CommandRequested } from '@portcullis/schemas';
import { busConfigFromEnv, createBus, createCommandGate, silentLogger } from '@portcullis/kit';
import { publishPolicy } from '../src/publish.ts';
import { createEdgeGate } from '../src/edge/edge-gate.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const namespace = `bench-pdp-${randomBytes(4).toString('hex')}`;
const policy = readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8');
const mix = [
  'SELECT id, status, total FROM orders WHERE customer_id = 42 ORDER BY placed_at DESC LIMIT 20',
  'SELECT c.id, c.email FROM customers c WHERE c.id = 7',
  "UPDATE orders SET status = 'shipped' WHERE id = 1234",
  'BEGIN',
  'COMMIT',
  'DELETE FROM orders WHERE 1=1',
  "SELECT pg_read_file('/etc/passwd')",
];

const bus = createBus({ config: busConfigFromEnv('bench-pdp'), logger: silentLogger(), namespace, partitions: 3 });
await bus.connect();
await publishPolicy({ bus, yamlText: policy, fileName: 'automation-access.yaml' });
const pdp = fork(fileURLToPath(new URL('../src/main.ts', import.meta.url)), [], {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, PORTCULLIS_TOPIC_NAMESPACE: namespace, PORTCULLIS_PDP_TRANSACTIONAL_ID: `${namespace}-pdp`, PORTCULLIS_LOG_LEVEL: 'error' },
});
await new Promise<void>((resolve, reject) => {
  pdp.once('message', () => resolve());
  pdp.once('exit', (code) => reject(new Error(`PDP exited ${code}`)));
});
const gate = await createCommandGate({ bus, timeoutMs: 15_000 });

const chains = new Map<number, SessionChain>();
let n = 0;
function command(worker: number): CommandRequested {
  const chain = chains.get(worker) ?? new SessionChain();
  chains.set(worker, chain);
  return chain.next({
    type: 'CommandRequested' as const, eventId: newId(), occurredAt: nowIso(), sessionId: `bench-${worker}`, commandId: newId(),
    identity: { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service' as const, groups: ['ci'] },
    resource: { name: 'orders-db', kind: 'postgres' as const, tags: ['staging'] }, protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text: mix[n++ % mix.length]!, phase: 'simple' as const },
  });
}

async function level(concurrency: number, ms: number, judge: (c: CommandRequested) => Promise<unknown> = (c) => gate.judge(c)) {
  const latencies: number[] = [];
  const deadline = Date.now() + ms;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    while (Date.now() < deadline) {
      const start = performance.now();
      await judge(command(w));
      latencies.push(performance.now() - start);
    }
  }));
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return { concurrency, count: latencies.length, rate: latencies.length / ((Date.now() - t0) / 1000), p50: at(0.5), p99: at(0.99) };
}

await level(4, 2000);
const results = [await level(1, seconds * 1000), await level(32, seconds * 1000)];
console.log(`bench:pdp end-to-end — PDP process, transactional consume→decide→produce, ${seconds} s per level`);
console.log('concurrency  verdicts  verdicts/s  p50 ms   p99 ms');
for (const r of results) console.log(`${String(r.concurrency).padEnd(13)}${String(r.count).padEnd(10)}${r.rate.toFixed(0).padEnd(12)}${r.p50.toFixed(2).padEnd(9)}${r.p99.toFixed(2)}`);

const edge = await createEdgeGate({ bus, logger: silentLogger(), instance: 'bench' });
await level(4, 2000, (c) => edge.judge(c));
const edgeResults = [await level(1, seconds * 1000, (c) => edge.judge(c)), await level(32, seconds * 1000, (c) => edge.judge(c))];
console.log(`\nbench:pdp edge — decided in this process, CommandRequested + VerdictIssued acknowledged by Kafka (acks=all), ${seconds} s per level`);
console.log('concurrency  verdicts  verdicts/s  p50 ms   p99 ms');
for (const r of edgeResults) console.log(`${String(r.concurrency).padEnd(13)}${String(r.count).padEnd(10)}${r.rate.toFixed(0).padEnd(12)}${r.p50.toFixed(2).padEnd(9)}${r.p99.toFixed(2)}`);
await edge.close();
await gate.close();
pdp.kill('SIGTERM');
await bus.disconnect();
process.exit(0);
