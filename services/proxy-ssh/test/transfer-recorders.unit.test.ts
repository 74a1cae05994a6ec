import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { FileTransfer } from '@portcullis/schemas';
import { ScpTransferRecorder, scpInvocationOf, scpInvocationOfArgs } from '../src/scp-transfer.ts';
import { SftpTransferRecorder } from '../src/sftp-transfer.ts';
import { TransferDigest } from '../src/transfer-digest.ts';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Feeds a byte stream in chunks of every size from 1 up, so a field split anywhere is exercised. */
function inPieces(stream: Buffer, size: number, feed: (b: Buffer) => void): void {
  for (let at = 0; at < stream.length; at += size) feed(stream.subarray(at, at + size));
}

test('scp invocation: given the options OpenSSH sends, when parsed, then -t is an upload to the operand and -f a download', async () => {
  assert.deepEqual(scpInvocationOfArgs(['-t', '/tmp/x']), { operation: 'upload', operands: ['/tmp/x'] });
  assert.deepEqual(scpInvocationOfArgs(['-r', '-p', '-t', '--', '-odd']), { operation: 'upload', operands: ['-odd'] });
  assert.deepEqual(scpInvocationOfArgs(['-prf', 'a', 'b']), { operation: 'download', operands: ['a', 'b'] });
  assert.deepEqual(scpInvocationOfArgs(['-l', '100', '-f', 'a']), { operation: 'download', operands: ['a'] });
  // A value option swallows the next word: -t here is -l's value, not a mode.
  assert.equal(scpInvocationOfArgs(['-l', '-t', 'a']), undefined);
  assert.equal(scpInvocationOfArgs(['-t', '-f', 'a']), undefined);
  assert.equal(scpInvocationOfArgs(['-t']), undefined);
  assert.deepEqual(await scpInvocationOf("scp -t '/tmp/a b'"), { operation: 'upload', operands: ['/tmp/a b'] });
  // Anything more than one plain scp is a terminal stream, recorded as such.
  for (const line of ['scp -f /etc/passwd; cat /etc/shadow', 'scp -f /x > /tmp/y', 'sudo scp -f /x', 'X=1 scp -f /x', 'scp -f $F', 'cat /x | scp -t /y', 'scp -f "$(ls)"']) {
    assert.equal(await scpInvocationOf(line), undefined, line);
  }
});

test('scp stream: given files and directories in any chunking, when followed, then each file is recorded with its size and digest', () => {
  const a = randomBytes(5000);
  const b = Buffer.alloc(0);
  const stream = Buffer.concat([
    Buffer.from('D0755 0 dir\nT1700000000 0 1700000000 0\n'), Buffer.from(`C0644 ${a.length} a.bin\n`), a, Buffer.from([0]),
    Buffer.from('E\n'), Buffer.from(`C0600 0 empty\n`), b, Buffer.from([0]),
  ]);
  for (const size of [1, 3, 7, 4096, stream.length]) {
    const out: FileTransfer[] = [];
    const r = new ScpTransferRecorder({ operation: 'download', operands: ['/srv'] }, (t) => out.push(t));
    inPieces(stream, size, (c) => r.data(c));
    r.ack(Buffer.from([0, 0]));
    r.close();
    assert.deepEqual(out, [
      { protocol: 'scp', operation: 'download', path: '/srv', name: 'dir/a.bin', bytes: a.length, sha256: sha256(a), complete: true },
      { protocol: 'scp', operation: 'download', path: '/srv', name: 'empty', bytes: 0, sha256: sha256(b), complete: true },
    ], `chunks of ${size}`);
  }
});

test('scp stream: given a receiver error and a cut-off file, when followed, then both are recorded incomplete with what went through', () => {
  const out: FileTransfer[] = [];
  const r = new ScpTransferRecorder({ operation: 'upload', operands: ['/ro/x'] }, (t) => out.push(t));
  r.data(Buffer.from('C0644 10 x\n'));
  r.ack(Buffer.from('\x01scp: /ro/x: Permission denied\n'));
  r.data(Buffer.from('C0644 100 y\n'));
  r.ack(Buffer.from([0]));
  r.data(Buffer.alloc(40));
  r.close();
  assert.deepEqual(out, [
    { protocol: 'scp', operation: 'upload', path: '/ro/x', name: 'x', bytes: 0, complete: false, error: 'scp: /ro/x: Permission denied' },
    { protocol: 'scp', operation: 'upload', path: '/ro/x', name: 'y', bytes: 40, complete: false, error: 'the channel closed before the file went through' },
  ]);
});

test('scp stream: given bytes that are not the protocol, when followed, then it says so once and keeps nothing', () => {
  const out: FileTransfer[] = [];
  const r = new ScpTransferRecorder({ operation: 'download', operands: ['/x'] }, (t) => out.push(t));
  r.data(Buffer.from('hello world\n'));
  r.data(Buffer.alloc(100_000, 0x41));
  r.close();
  assert.equal(out.length, 1);
  assert.equal(out[0]!.operation, 'unrecorded');
  assert.match(out[0]!.error!, /not scp's protocol/);
});

// ---------------------------------------------------------------- SFTP

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
};
const str = (s: string | Buffer): Buffer => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);
const packet = (type: number, ...fields: Buffer[]): Buffer => {
  const body = Buffer.concat([Buffer.from([type]), ...fields]);
  return Buffer.concat([u32(body.length), body]);
};

test('sftp: given an upload, a download and changes in any chunking, when followed, then each is recorded with paths, sizes and digest', () => {
  const content = randomBytes(70_000);
  const halves = [content.subarray(0, 32768), content.subarray(32768)];
  const ok = (id: number): Buffer => packet(101, u32(id), u32(0), str(''), str(''));
  // [from the caller?, packet] in wire order: each reply after its request.
  const wire: [boolean, Buffer][] = [
    [true, packet(1, u32(3))], [false, packet(2, u32(3))], // INIT, VERSION
    [true, packet(3, u32(1), str('/up.bin'), u32(0x02 | 0x08 | 0x10), u32(0))], [false, packet(102, u32(1), str('h1'))], // OPEN write|creat|trunc
    [true, packet(6, u32(2), str('h1'), u64(0), str(halves[0]!))],
    [true, packet(6, u32(3), str('h1'), u64(32768), str(halves[1]!))], [false, ok(2)], [false, ok(3)],
    [true, packet(4, u32(4), str('h1'))], [false, ok(4)],
    [true, packet(3, u32(5), str('/up.bin'), u32(0x01), u32(0))], [false, packet(102, u32(5), str('h2'))], // OPEN read
    [true, packet(5, u32(6), str('h2'), u64(0), u32(32768))],
    [true, packet(5, u32(7), str('h2'), u64(32768), u32(65536))],
    [false, packet(103, u32(6), str(halves[0]!))], [false, packet(103, u32(7), str(halves[1]!))],
    [true, packet(4, u32(8), str('h2'))], [false, ok(8)],
    [true, packet(18, u32(9), str('/up.bin'), str('/moved.bin'))], [false, ok(9)],
    [true, packet(13, u32(10), str('/nope'))], [false, packet(101, u32(10), u32(2), str('No such file'), str(''))],
  ];
  for (const size of [1, 5, 1000, 65536]) {
    const out: FileTransfer[] = [];
    const r = new SftpTransferRecorder((t) => out.push(t));
    for (const [fromCaller, bytes] of wire) inPieces(bytes, size, (c) => (fromCaller ? r.fromCaller(c) : r.fromTarget(c)));
    r.close();
    assert.deepEqual(out, [
      { protocol: 'sftp', operation: 'upload', path: '/up.bin', bytes: content.length, sha256: sha256(content), complete: true },
      { protocol: 'sftp', operation: 'download', path: '/up.bin', bytes: content.length, sha256: sha256(content), complete: true },
      { protocol: 'sftp', operation: 'rename', path: '/up.bin', toPath: '/moved.bin', bytes: 0, complete: true },
      { protocol: 'sftp', operation: 'remove', path: '/nope', bytes: 0, complete: false, error: 'No such file (SFTP status 2)' },
    ], `chunks of ${size}`);
  }
});

test('sftp: given a length no SFTP peer sends, when followed, then recording stops with a note and nothing is kept', () => {
  const out: FileTransfer[] = [];
  const r = new SftpTransferRecorder((t) => out.push(t));
  r.fromCaller(Buffer.from([0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
  r.fromCaller(Buffer.alloc(1000));
  r.close();
  assert.deepEqual(out.map((t) => t.operation), ['unrecorded']);
});

test('digest: given chunks out of order, when hashed, then the count goes on and no digest is claimed', () => {
  const d = new TransferDigest();
  d.update(Buffer.alloc(10), 0);
  d.update(Buffer.alloc(10), 20);
  assert.equal(d.bytes, 20);
  assert.equal(d.sha256(), undefined);
});
