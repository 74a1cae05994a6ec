import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '@portcullis/kit';
import { issueHumanToken } from '@portcullis/infra';
import type { FileTransfer, SessionTopicEvent } from '@portcullis/schemas';
import { ISSUER, generateClientKey, startFixture, type Fixture } from './support/fixture.ts';

let f: Fixture;
let key: string;
before(async () => {
  f = await startFixture();
  key = generateClientKey(f.dir, 'transfer_ed25519');
  const token = await issueHumanToken(ISSUER, 'alice');
  const res = await fetch(`http://127.0.0.1:${f.keysPort}/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: readFileSync(`${key}.pub`, 'utf8') });
  assert.equal(res.status, 201);
});
after(async () => {
  await f?.close();
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const client = ['-i', () => key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', '-o', 'BatchMode=yes'];
const opts = (): string[] => client.map((o) => (typeof o === 'function' ? o() : o));
const remoteDir = (): string => {
  const dir = join('/tmp', `portcullis-transfer-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir);
  return dir;
};

/** The transfers recorded for the one command whose CommandRequested has this command line, once its CommandCompleted is in. */
async function transfersOf(commandLine: string, count: number): Promise<FileTransfer[]> {
  const command = await eventually(`CommandRequested ${commandLine}`, () => f.commandEvents().find((c) => c.command.kind === 'shell' && c.command.commandLine === commandLine));
  await eventually('CommandCompleted', () => f.sessionEvents.find((e) => e.type === 'CommandCompleted' && e.commandId === command.commandId));
  const transfers = await eventually(`${count} transfers`, () => {
    const found = f.sessionEvents.filter((e): e is Extract<SessionTopicEvent, { type: 'OutputRecorded' }> => e.type === 'OutputRecorded' && e.commandId === command.commandId && e.format === 'transfer');
    return found.length >= count ? found : undefined;
  });
  assert.ok(!f.sessionEvents.some((e) => e.type === 'OutputRecorded' && e.commandId === command.commandId && e.format === 'stream' && (e.stream ?? []).length > 0), 'file bytes are not recorded as a terminal stream');
  return transfers.map((e) => e.transfer!);
}

test('scp -O upload and download are recorded as the files transferred: path, name, size and SHA-256 match the file', async () => {
  const dir = remoteDir();
  const source = join(f.dir, 'report.bin');
  const content = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(source, content);
  try {
    await promisify(execFile)('scp', ['-O', '-q', '-P', String(f.port), ...opts(), source, `root@web-1@127.0.0.1:${dir}/`], { timeout: 60_000 });
    assert.equal(sha256(readFileSync(join(dir, 'report.bin'))), sha256(content));
    const [up] = await transfersOf(`scp -t ${dir}/`, 1);
    assert.deepEqual(up, { protocol: 'scp', operation: 'upload', path: `${dir}/`, name: 'report.bin', bytes: content.length, sha256: sha256(content), complete: true });

    const back = join(f.dir, 'report.back');
    await promisify(execFile)('scp', ['-O', '-q', '-P', String(f.port), ...opts(), `root@web-1@127.0.0.1:${dir}/report.bin`, back], { timeout: 60_000 });
    assert.equal(sha256(readFileSync(back)), sha256(content));
    const [down] = await transfersOf(`scp -f ${dir}/report.bin`, 1);
    assert.deepEqual(down, { protocol: 'scp', operation: 'download', path: `${dir}/report.bin`, name: 'report.bin', bytes: content.length, sha256: sha256(content), complete: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scp -O -r records every file under the directories it entered; a refused write is recorded with the error', async () => {
  const dir = remoteDir();
  const tree = join(f.dir, 'tree');
  mkdirSync(join(tree, 'sub'), { recursive: true });
  const a = randomBytes(1000);
  const b = randomBytes(70_000);
  writeFileSync(join(tree, 'a.txt'), a);
  writeFileSync(join(tree, 'sub', 'b.bin'), b);
  try {
    await promisify(execFile)('scp', ['-O', '-r', '-q', '-P', String(f.port), ...opts(), tree, `root@web-1@127.0.0.1:${dir}`], { timeout: 60_000 });
    const transfers = await transfersOf(`scp -r -t ${dir}`, 2);
    const byName = Object.fromEntries(transfers.map((t) => [t.name, t]));
    assert.deepEqual(byName['tree/a.txt'], { protocol: 'scp', operation: 'upload', path: dir, name: 'tree/a.txt', bytes: a.length, sha256: sha256(a), complete: true });
    assert.deepEqual(byName['tree/sub/b.bin'], { protocol: 'scp', operation: 'upload', path: dir, name: 'tree/sub/b.bin', bytes: b.length, sha256: sha256(b), complete: true });

    const missing = `${dir}/no/such/dir/x`;
    await assert.rejects(promisify(execFile)('scp', ['-O', '-q', '-P', String(f.port), ...opts(), join(tree, 'a.txt'), `root@web-1@127.0.0.1:${missing}`], { timeout: 60_000 }));
    const [refused] = await transfersOf(`scp -t ${missing}`, 1);
    assert.equal(refused!.complete, false);
    assert.match(refused!.error ?? '', /No such file or directory/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sftp put, get, rename and rm are recorded with paths, sizes and SHA-256 (OpenSSH sftp, the subsystem scp uses by default)', async () => {
  const dir = remoteDir();
  const source = join(f.dir, 'upload.bin');
  const content = randomBytes(5 * 1024 * 1024 + 3);
  writeFileSync(source, content);
  const back = join(f.dir, 'download.bin');
  const batch = join(f.dir, 'batch');
  writeFileSync(batch, [`put ${source} ${dir}/up.bin`, `get ${dir}/up.bin ${back}`, `rename ${dir}/up.bin ${dir}/moved.bin`, `mkdir ${dir}/d`, `rm ${dir}/moved.bin`, ''].join('\n'));
  try {
    await promisify(execFile)('sftp', ['-q', '-b', batch, '-P', String(f.port), ...opts(), 'root@web-1@127.0.0.1'], { timeout: 60_000 });
    assert.equal(sha256(readFileSync(back)), sha256(content));
    const transfers = await transfersOf('sftp', 5);
    const find = (operation: string): FileTransfer | undefined => transfers.find((t) => t.operation === operation);
    assert.deepEqual(find('upload'), { protocol: 'sftp', operation: 'upload', path: `${dir}/up.bin`, bytes: content.length, sha256: sha256(content), complete: true });
    assert.deepEqual(find('download'), { protocol: 'sftp', operation: 'download', path: `${dir}/up.bin`, bytes: content.length, sha256: sha256(content), complete: true });
    assert.deepEqual(find('rename'), { protocol: 'sftp', operation: 'rename', path: `${dir}/up.bin`, toPath: `${dir}/moved.bin`, bytes: 0, complete: true });
    assert.deepEqual(find('mkdir'), { protocol: 'sftp', operation: 'mkdir', path: `${dir}/d`, bytes: 0, complete: true });
    assert.deepEqual(find('remove'), { protocol: 'sftp', operation: 'remove', path: `${dir}/moved.bin`, bytes: 0, complete: true });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
