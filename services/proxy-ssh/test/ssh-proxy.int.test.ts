import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';
import { eventually } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { ISSUER, generateClientKey, openSsh, startFixture, type Fixture } from './support/fixture.ts';

let f: Fixture;
let ciToken: string;
before(async () => {
  f = await startFixture();
  ciToken = await issueServiceToken(ISSUER, 'ci-deploy');
});
after(async () => {
  await f?.close();
});

function ssh2Client(login: string, auth: Partial<ConnectConfig>): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const c = new ssh2.Client();
    c.once('ready', () => resolve(c));
    c.once('error', reject);
    c.connect({ host: '127.0.0.1', port: f.port, username: login, readyTimeout: 20_000, ...auth });
  });
}

function collect(stream: ClientChannel): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  let code: number | null = null;
  stream.on('data', (d: Buffer) => (stdout += d));
  stream.stderr.on('data', (d: Buffer) => (stderr += d));
  stream.on('exit', (c: number | null) => (code = c));
  return new Promise((resolve) => stream.on('close', () => resolve({ code, stdout, stderr })));
}

const tmpFile = (name: string): string => join('/tmp', `portcullis-ssh-${name}-${randomBytes(4).toString('hex')}`);

test('an allowed exec runs on the target and returns output and exit status (OpenSSH client, token via SSH_ASKPASS)', async () => {
  const ok = await openSsh(f, 'root@web-1', ['echo hello from target'], { token: ciToken });
  assert.equal(ok.stdout.trim(), 'hello from target', ok.stderr);
  assert.equal(ok.code, 0);
  const status = await openSsh(f, 'web-1', ["sh -c 'exit 3'"], { token: ciToken });
  assert.equal(status.code, 3, status.stderr);
  // SessionOpened records until when the token that opened the session vouches for the caller.
  const exp = (JSON.parse(Buffer.from(ciToken.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
  const opened = await eventually('SessionOpened', () => f.sessionEvents.find((e) => e.type === 'SessionOpened' && e.identity.subject === 'ci-deploy'));
  assert.equal(opened.type === 'SessionOpened' && opened.tokenExpiresAt, new Date(exp * 1000).toISOString());
});

test('a blocked command never reaches the target: stderr names the rule, exit status 1', async () => {
  const victim = tmpFile('victim');
  writeFileSync(victim, 'keep me');
  try {
    const r = await openSsh(f, 'root@web-1', [`bash -c 'rm -rf ${victim}'`], { token: ciToken });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /blocked by rule ssh-destructive:.*destructive host commands are not allowed/);
    assert.ok(existsSync(victim), 'the file is still there');
    const garbled = await openSsh(f, 'root@web-1', ["echo 'unterminated"], { token: ciToken });
    assert.equal(garbled.code, 1);
    assert.match(garbled.stderr, /unparseable/);
  } finally {
    rmSync(victim, { force: true });
  }
});

test('a held command waits for its approval, then runs', async () => {
  const created = tmpFile('held');
  const client = await ssh2Client('root@web-1', { password: ciToken });
  try {
    const stream = await new Promise<ClientChannel>((resolve, reject) => client.exec(`touch ${created}`, (err, s) => (err ? reject(err) : resolve(s))));
    const result = collect(stream);
    let stderr = '';
    stream.stderr.on('data', (d: Buffer) => (stderr += d));
    const approvalId = await eventually('the hold notice', () => /held for approval ([0-9a-f-]{36})/.exec(stderr)?.[1], 20_000);
    assert.equal(existsSync(created), false, 'nothing ran before the approval');
    await f.grant(approvalId);
    const r = await result;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(created), 'the approved command ran');
  } finally {
    client.end();
    rmSync(created, { force: true });
  }
});

test('a caller who disconnects while its command is held withdraws the approval: the approvals API shows it cancelled', async () => {
  const created = tmpFile('abandoned');
  const client = await ssh2Client('root@web-1', { password: ciToken });
  let approvalId: string;
  try {
    const stream = await new Promise<ClientChannel>((resolve, reject) => client.exec(`touch ${created}`, (err, s) => (err ? reject(err) : resolve(s))));
    let stderr = '';
    stream.stderr.on('data', (d: Buffer) => (stderr += d));
    approvalId = await eventually('the hold notice', () => /held for approval ([0-9a-f-]{36})/.exec(stderr)?.[1], 20_000);
  } finally {
    client.end();
  }
  // carol is an auditor: the approvals API shows an approval only to its requester, its approver groups (ops here) and auditors.
  const carol = await issueHumanToken(ISSUER, 'carol');
  const shown = await eventually('the approval cancelled in the API', async () => {
    const res = await fetch(`${f.approvals.url}/approvals/${approvalId}`, { headers: { authorization: `Bearer ${carol}` } });
    const body = (await res.json()) as { status?: string };
    return body.status === 'cancelled' ? body : undefined;
  }, 20_000);
  assert.equal(shown.status, 'cancelled');
  // A grant now comes too late: nothing runs.
  const late = await fetch(`${f.approvals.url}/approvals/${approvalId}/grant`, { method: 'POST', headers: { authorization: `Bearer ${carol}`, 'content-type': 'application/json' }, body: '{}' });
  assert.notEqual(late.status, 200);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(existsSync(created), false, 'the abandoned command never ran');
});

test('an interactive shell: lines judged on Enter (edits followed), blocked lines not delivered, the session recorded', async () => {
  const victim = tmpFile('interactive');
  writeFileSync(victim, 'keep me');
  const client = await ssh2Client('root@web-1', {
    authHandler: (_methods, _partial, next) =>
      next({ type: 'keyboard-interactive', username: 'root@web-1', prompt: (_name, _instructions, _lang, prompts, finish) => finish(prompts.map(() => ciToken)) }),
  });
  try {
    const stream = await new Promise<ClientChannel>((resolve, reject) =>
      client.shell({ term: 'xterm', cols: 100, rows: 30 }, (err, s) => (err ? reject(err) : resolve(s))),
    );
    let screen = '';
    stream.on('data', (d: Buffer) => (screen += d));
    stream.write('echo interactivX\x7fe-ok\r');
    await eventually('the echoed output', () => /[\r\n]interactive-ok\r\n/.test(screen) || undefined, 20_000).catch((err: Error) => { throw new Error(`${err.message}; screen: ${JSON.stringify(screen)}`); });
    stream.write(`rm -rf ${victim}\r`);
    await eventually('the refusal', () => /blocked by rule ssh-destructive/.test(screen) || undefined, 20_000);
    assert.ok(existsSync(victim), 'the blocked line was not delivered');
    stream.setWindow(40, 120, 0, 0);
    stream.write('exit\r');
    const closed = new Promise((r) => stream.on('close', r));
    await closed;
  } finally {
    client.end();
    rmSync(victim, { force: true });
  }
  const output = await eventually('OutputRecorded with the shell output', () => {
    const stream = f.sessionEvents.flatMap((e) => (e.type === 'OutputRecorded' && e.format === 'stream' ? (e.stream ?? []) : []));
    const text = stream.filter((ev) => ev[1] === 'o').map((ev) => ev[2]).join('');
    return /interactive-ok/.test(text) && /blocked by rule ssh-destructive/.test(text) && stream.some((ev) => ev[1] === 'r' && ev[2] === '120x40') ? stream : undefined;
  });
  assert.ok(output.every((ev) => typeof ev[0] === 'number' && ev[0] >= 0));
  await eventually('SessionClosed', () => f.sessionEvents.some((e) => e.type === 'SessionClosed') || undefined);
});

test('scp -O of a 20 MB file through a registered public key streams intact; sftp is allowed by policy', async () => {
  const key = generateClientKey(f.dir, 'alice_ed25519');
  const aliceToken = await issueHumanToken(ISSUER, 'alice');
  const res = await fetch(`http://127.0.0.1:${f.keysPort}/keys`, {
    method: 'POST', headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'text/plain' }, body: readFileSync(`${key}.pub`, 'utf8'),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const bad = await fetch(`http://127.0.0.1:${f.keysPort}/keys`, { method: 'POST', headers: { authorization: 'Bearer nope' }, body: readFileSync(`${key}.pub`, 'utf8') });
  assert.equal(bad.status, 401);

  const source = join(f.dir, 'big.bin');
  const dest = tmpFile('scp');
  writeFileSync(source, randomBytes(20 * 1024 * 1024));
  try {
    const started = Date.now();
    await promisify(execFile)('scp', ['-O', '-q', '-P', String(f.port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', source, `root@web-1@127.0.0.1:${dest}`], { timeout: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    const digest = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');
    assert.equal(digest(dest), digest(source));
    // A public key login carries no token: no token expiry on its SessionOpened.
    const opened = await eventually('SessionOpened', () => f.sessionEvents.find((e) => e.type === 'SessionOpened' && e.identity.subject === 'alice'));
    assert.equal(opened.type === 'SessionOpened' && opened.tokenExpiresAt, undefined);
    console.log(`# scp -O 20 MiB through the proxy: ${seconds.toFixed(1)} s (${(20 / seconds).toFixed(1)} MiB/s)`);
  } finally {
    rmSync(dest, { force: true });
  }

  // The SFTP subsystem (OpenSSH scp's default protocol).
  const client = await ssh2Client('web-1', { password: ciToken });
  try {
    const sftp = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    const entries = await new Promise<string[]>((resolve, reject) => sftp.readdir('/', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
    assert.ok(entries.includes('tmp'));
  } finally {
    client.end();
  }
});

test('port forwarding without a rule that names it is refused', async () => {
  const client = await ssh2Client('web-1', { password: ciToken });
  try {
    await assert.rejects(
      new Promise((resolve, reject) => client.forwardOut('127.0.0.1', 5000, '127.0.0.1', f.sshd.port, (err, s) => (err ? reject(err) : resolve(s)))),
      /Channel open failure/i,
    );
  } finally {
    client.end();
  }
});

test('a target whose host key does not match the configured fingerprint is refused with a clear error', async () => {
  const r = await openSsh(f, 'root@web-spoofed', ['echo hi'], { token: ciToken });
  assert.notEqual(r.code, 0);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /does not match the configured fingerprint/);
});

test('bad tokens, wrong audiences, unknown resources and unregistered keys are refused before anything reaches a target', async () => {
  const garbage = await openSsh(f, 'root@web-1', ['echo hi'], { token: 'not-a-token' });
  assert.equal(garbage.code, 255);
  assert.match(garbage.stderr, /access token refused/);
  assert.match(garbage.stderr, /Permission denied/);
  const otherAudience = await issueServiceToken(ISSUER, 'ci-deploy', { resource: 'https://other.example.com' });
  await assert.rejects(ssh2Client('root@web-1', { password: otherAudience }), /authentication methods failed/);
  const unknown = await openSsh(f, 'root@nowhere', ['echo hi'], { token: ciToken });
  assert.equal(unknown.code, 255);
  assert.match(unknown.stderr, /unknown resource "nowhere"/);
  const stranger = generateClientKey(f.dir, 'stranger_ed25519');
  const byKey = await openSsh(f, 'root@web-1', ['echo hi'], { key: stranger });
  assert.equal(byKey.code, 255);
});

test('garbage on the port does not take the proxy down', async () => {
  for (const payload of [randomBytes(64 * 1024), Buffer.from('SSH-2.0-x\r\n'), Buffer.concat([Buffer.from('SSH-2.0-x\r\n'), randomBytes(4096)])]) {
    await new Promise<void>((resolve) => {
      const s = tcpConnect(f.port, '127.0.0.1', () => s.end(payload));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
      s.resume();
    });
  }
  const ok = await openSsh(f, 'root@web-1', ['echo still alive'], { token: ciToken });
  assert.equal(ok.stdout.trim(), 'still alive', ok.stderr);
});
