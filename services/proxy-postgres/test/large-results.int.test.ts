import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serialize } from 'pg-protocol';
import { MessageFramer } from '../src/wire/framing.ts';
import { createTestTarget, type TestTarget } from './support/target-database.ts';
import { tokenFor } from './support/test-verifier.ts';

const kib = (field: string, pid: number): number => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/** A bare protocol client that counts rows and throws them away, pausing once to exercise backpressure. */
function streamRows(port: number, resource: string, sql: string): Promise<{ rows: number; tag: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const framer = new MessageFramer({ typed: true, maxMessageBytes: 1 << 26 });
    let rows = 0;
    let received = 0;
    let paused = false;
    let tag = '';
    socket.on('connect', () => socket.write(Buffer.concat([serialize.startup({ user: 'alice', database: resource })])));
    socket.on('error', reject);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      framer.push(chunk);
      for (let f = framer.next(); f; f = framer.next()) {
        if (f.type === 0x52 && f.payload.readInt32BE(0) === 3) socket.write(serialize.password(tokenFor('alice')));
        else if (f.type === 0x5a && tag === '' && rows === 0) socket.write(serialize.query(sql));
        else if (f.type === 0x44) rows++;
        else if (f.type === 0x43) tag = f.payload.toString('utf8', 0, f.payload.length - 1);
        else if (f.type === 0x45) reject(new Error(f.payload.toString('utf8')));
        if (f.type === 0x5a && tag !== '') {
          socket.end(serialize.end());
          resolve({ rows, tag });
        }
      }
      if (!paused && received > 64 * 1024 * 1024) {
        // A slow reader: the proxy must stop reading the target, not buffer the result.
        paused = true;
        socket.pause();
        setTimeout(() => socket.resume(), 2000);
      }
    });
  });
}

describe('large results', () => {
  let target: TestTarget;
  let child: ChildProcess;
  let port: number;

  before(async () => {
    target = await createTestTarget('large');
    child = fork(fileURLToPath(new URL('./support/proxy-process.ts', import.meta.url)), [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, PCL_TEST_RESOURCE: JSON.stringify(target.resource) },
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(JSON.parse(d.toString()).port)));
  });
  after(async () => {
    child?.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    await target?.drop();
  });

  it('streams 5 million rows with bounded memory (RSS < 200 MB)', { timeout: 300_000 }, async () => {
    const baseline = kib('VmRSS', child.pid!);
    let peakSampled = 0;
    const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, kib('VmRSS', child.pid!))), 100);
    const started = Date.now();
    const { rows, tag } = await streamRows(port, target.resource.name, "SELECT g, 'row number ' || g AS label, now() AS at FROM generate_series(1, 5000000) g");
    clearInterval(sampler);
    const seconds = (Date.now() - started) / 1000;
    const hwm = kib('VmHWM', child.pid!);
    console.log(`5,000,000 rows in ${seconds.toFixed(1)} s; proxy RSS baseline ${(baseline / 1024).toFixed(0)} MB, peak sampled ${(peakSampled / 1024).toFixed(0)} MB, VmHWM ${(hwm / 1024).toFixed(0)} MB`);
    assert.equal(rows, 5_000_000);
    assert.equal(tag, 'SELECT 5000000');
    assert.ok(hwm < 200 * 1024, `proxy peak RSS ${hwm} kB`);
    const events = await new Promise<Array<{ type: string; rows?: number; truncated?: boolean }>>((resolve) => {
      child.once('message', (m) => resolve(m as never));
      child.send('events');
    });
    const output = events.filter((e) => e.type === 'OutputRecorded');
    assert.deepEqual(output, [{ type: 'OutputRecorded', rows: 1000, truncated: true }]);
  });
});
