import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { serialize } from 'pg-protocol';
import { startProxy, type RunningProxy } from './support/proxy-harness.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';
import { tokenFor } from './support/test-verifier.ts';

/** A seeded PRNG so a failing stream can be reproduced from its index. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function transcript(resource: string): Buffer[] {
  return [
    serialize.startup({ user: 'alice', database: resource, application_name: 'fuzz' }),
    serialize.password(tokenFor('alice')),
    serialize.query('SELECT 1; SELECT generate_series(1, 3)'),
    serialize.parse({ name: 's', text: 'SELECT $1::int' }),
    serialize.bind({ statement: 's', values: ['7'] }),
    serialize.describe({ type: 'P', name: '' }),
    serialize.execute({ rows: 0 }),
    serialize.sync(),
    serialize.query('COPY (SELECT 1) TO STDOUT'),
    serialize.end(),
  ];
}

function mutate(parts: Buffer[], rand: () => number): Buffer {
  const bytes = Buffer.concat(parts);
  const out = Buffer.from(bytes);
  const kind = Math.floor(rand() * 5);
  // Keep the start-up intact half of the time so mutations reach the relay.
  const from = rand() < 0.5 ? parts[0]!.length + parts[1]!.length : 0;
  const at = (): number => from + Math.floor(rand() * Math.max(1, out.length - from));
  if (kind === 0) for (let i = 0; i < 1 + rand() * 8; i++) out[at()] = Math.floor(rand() * 256);
  if (kind === 1) return out.subarray(0, at());
  if (kind === 2) {
    const p = at();
    return Buffer.concat([out.subarray(0, p), Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))), out.subarray(p)]);
  }
  if (kind === 3) {
    // a length word replaced by something huge or negative
    const p = Math.min(out.length - 4, at());
    if (p >= 0) out.writeInt32BE([0x7fffffff, -1, 0, 3, 0x04000001][Math.floor(rand() * 5)]!, p);
  }
  if (kind === 4) return Buffer.concat([out.subarray(0, from), out.subarray(from).reverse()]);
  return out;
}

function send(port: number, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, 3000);
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', () => undefined);
    socket.on('connect', () => socket.end(data));
  });
}

describe('fuzzing the proxy', () => {
  let target: TestTarget;
  let proxy: RunningProxy;

  before(async () => {
    target = await createTestTarget('fuzz');
    proxy = await startProxy(target, { config: { allowCleartextOnLoopback: true } });
  });
  after(async () => {
    await proxy?.close();
    await target?.drop();
  });

  it('survives 10,000 random and mutated byte streams, then serves a normal session', { timeout: 600_000 }, async () => {
    const total = 10_000;
    const base = transcript(proxy.resourceName);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < total; i = next++) {
        const rand = prng(i + 1);
        const stream =
          rand() < 0.3
            ? Buffer.from(Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256)))
            : mutate(base, rand);
        await send(proxy.port, stream);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 24 }, worker));
    console.log(`fuzz: ${total} streams in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const r = await proxy.psql(['-At', '-c', 'SELECT 40 + 2']);
    assert.equal(r.stdout, '42\n', r.stderr);
    assert.equal(r.code, 0);
  });
});
