/**
 * npm run bench:bus — request/reply round trips over the real broker and
 * registry, between two processes, as a proxy and the PDP do it:
 *   requester: publish CommandRequested (acks=all) → await VerdictIssued
 *   responder: consume CommandRequested → publish VerdictIssued
 * Prints p50/p99 latency and throughput at concurrency 1 and 64.
 *
 * Then the edge path, as a proxy deciding at the edge records a command:
 * CommandRequested + VerdictIssued in one `publishAll` (group commit,
 * acks=all), beside a bare kafkajs `send` of one message of the same size
 * with the same producer settings (the floor the bus sits on).
 *   BENCH_SECONDS (default 10) per concurrency level.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { newId, nowIso, SessionChain, type CommandRequested } from '@portcullis/schemas';
import { busConfigFromEnv, createBus, createCommandGate, silentLogger } from '../src/index.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const role = process.argv[2] ?? 'requester';
const namespace = process.argv[3] ?? `bench-${randomBytes(4).toString('hex')}`;

const bus = createBus({ config: busConfigFromEnv(`bench-${role}`), logger: silentLogger(), namespace, partitions: 3 });

if (role === 'responder') {
  await bus.connect();
  const sub = await bus.subscribe({
    groupId: 'bench-responder',
    topics: ['commands'],
    fromBeginning: true,
    maxWaitTimeInMs: 100,
    partitionsConsumedConcurrently: 3,
    handler: async ({ event }) => {
      await bus.publish('verdicts', {
        type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: event.sessionId, commandId: event.commandId,
        effect: 'allow', ruleIds: ['bench'], reasons: ['bench'], policyVersion: 1, final: true, classes: ['read'],
      });
    },
  });
  await sub.ready;
  process.send?.('ready');
  process.on('message', async (m) => {
    if (m === 'stop') {
      await bus.disconnect();
      process.exit(0);
    }
  });
} else {
  await bus.connect();
  const responder = fork(fileURLToPath(import.meta.url), ['responder', namespace], { execArgv: ['--import', 'tsx'] });
  await new Promise<void>((resolve, reject) => {
    responder.once('message', () => resolve());
    responder.once('exit', (code) => reject(new Error(`responder exited ${code}`)));
  });
  const gate = await createCommandGate({ bus, timeoutMs: 10_000 });

  const chains = new Map<number, SessionChain>();
  const commandFor = (worker: number): CommandRequested => {
    const chain = chains.get(worker) ?? new SessionChain();
    chains.set(worker, chain);
    return chain.next({
      type: 'CommandRequested' as const, eventId: newId(), occurredAt: nowIso(), sessionId: `bench-session-${worker}`, commandId: newId(),
      identity: { subject: 'bench', issuer: 'http://127.0.0.1:9400', kind: 'service' as const, groups: [] },
      resource: { name: 'bench-db', kind: 'postgres' as const, tags: [] },
      protocol: 'postgres' as const,
      command: { kind: 'sql' as const, text: 'SELECT * FROM accounts WHERE aid = 42', phase: 'simple' as const },
    });
  };

  async function level(concurrency: number, durationMs: number) {
    const latencies: number[] = [];
    const deadline = Date.now() + durationMs;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async (_, worker) => {
        while (Date.now() < deadline) {
          const t0 = process.hrtime.bigint();
          await gate.judge(commandFor(worker));
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
    return { concurrency, requests: latencies.length, perSecond: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
  }

  async function timed(concurrency: number, durationMs: number, once: (worker: number) => Promise<void>) {
    const latencies: number[] = [];
    const deadline = Date.now() + durationMs;
    const started = Date.now();
    await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
      while (Date.now() < deadline) {
        const t0 = process.hrtime.bigint();
        await once(worker);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }));
    const elapsed = (Date.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!;
    return { concurrency, requests: latencies.length, perSecond: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99) };
  }

  await level(4, 2000); // warm-up: connections, metadata, JIT
  const results = [await level(1, seconds * 1000), await level(64, seconds * 1000)];

  // The edge path: what a proxy deciding at the edge waits for before a statement runs.
  const verdictFor = (command: CommandRequested) => ({
    type: 'VerdictIssued' as const, eventId: newId(), occurredAt: nowIso(), sessionId: command.sessionId, commandId: command.commandId,
    effect: 'allow' as const, ruleIds: ['bench'], reasons: ['bench'], policyVersion: 1, final: true, classes: ['read'], decidedBy: 'edge:bench',
  });
  const record = (worker: number) => {
    const command = commandFor(worker);
    return bus.publishAll([{ key: 'commands', event: command }, { key: 'verdicts', event: verdictFor(command) }]);
  };
  const bare = bus.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await bare.connect();
  const bareValue = await bus.codec.encode('commands', commandFor(0));
  const bareSend = async () => {
    await bare.send({ topic: bus.names.of('commands'), acks: -1, messages: [{ key: 'bench-session-0', value: bareValue }] });
  };
  await timed(4, 2000, record);
  const edge = [await timed(1, seconds * 1000, record), await timed(64, seconds * 1000, record)];
  const floor = [await timed(1, seconds * 1000, bareSend)];
  await bare.disconnect();
  console.log(`bench:bus — request/reply over Kafka ${busConfigFromEnv('x').brokers.join(',')}, two processes, ${seconds} s per level`);
  console.log('concurrency  requests  req/s     p50 ms   p99 ms');
  for (const r of results) {
    console.log(`${String(r.concurrency).padEnd(13)}${String(r.requests).padEnd(10)}${r.perSecond.toFixed(0).padEnd(10)}${r.p50.toFixed(2).padEnd(9)}${r.p99.toFixed(2)}`);
  }
  console.log('\nedge path: CommandRequested + VerdictIssued in one publishAll (acks=all), and a bare kafkajs send (one message, acks=all)');
  console.log('path                 concurrency  records   rec/s     p50 ms   p99 ms');
  for (const [name, rows] of [['publishAll (edge)', edge], ['bare kafkajs send', floor]] as const) {
    for (const r of rows) {
      console.log(`${name.padEnd(21)}${String(r.concurrency).padEnd(13)}${String(r.requests).padEnd(10)}${r.perSecond.toFixed(0).padEnd(10)}${r.p50.toFixed(2).padEnd(9)}${r.p99.toFixed(2)}`);
    }
  }
  await gate.close();
  responder.send('stop');
  await bus.disconnect();
  process.exit(0);
}
