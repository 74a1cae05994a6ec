import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tuneRelaySocket } from '../src/relay-socket.ts';

/** A loopback connection: the tuned client side and what its peer reads. */
async function loopback(): Promise<{ socket: Socket; received: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const server = createServer((peer) => peer.on('data', (d: Buffer) => chunks.push(d)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket = tuneRelaySocket(connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port }));
  await new Promise((resolve) => socket.once('connect', resolve));
  return {
    socket,
    received: () => Buffer.concat(chunks),
    close: async () => {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('packets written in one turn are held together and leave at the end of the turn, in order', async () => {
  const l = await loopback();
  try {
    // given three packets written in one turn of the event loop
    for (const p of ['exit-status', 'eof', 'close']) l.socket.write(p);
    // then they are held (corked) until the turn ends …
    assert.equal(l.socket.writableLength, 'exit-status'.length + 'eof'.length + 'close'.length);
    // … and then handed to the kernel together, so the peer reads them in order
    await turn();
    assert.equal(l.socket.writableLength, 0);
    for (let i = 0; i < 50 && l.received().length < 19; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(l.received().toString(), 'exit-statuseofclose');
  } finally {
    await l.close();
  }
});

test('a later turn is batched again, and end() flushes what is held', async () => {
  const l = await loopback();
  try {
    l.socket.write('a');
    await turn();
    l.socket.write('b');
    assert.equal(l.socket.writableLength, 1, 'the second turn is corked too');
    l.socket.end('c');
    await new Promise((resolve) => l.socket.once('finish', resolve));
    for (let i = 0; i < 50 && l.received().length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(l.received().toString(), 'abc');
  } finally {
    await l.close();
  }
});
