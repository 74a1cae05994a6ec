/**
 * The example policy as shipped, through the real OpenSSH client, the proxy,
 * the PDP on Kafka and a real sshd: redirections, variable prefixes and path
 * spellings that used to slip through are refused with the reason the user
 * sees, and nothing reaches the target. Every command here is harmless if it
 * did run (files under a fresh temp directory, a socket on 127.0.0.1 that
 * records what arrives), so a failing guard shows up as a failed assertion,
 * not as damage.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { issueServiceToken } from '@portcullis/infra';
import { ISSUER, openSsh, startFixture, type Fixture } from './support/fixture.ts';

const examplePolicy = readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8');

let f: Fixture;
let token: string;
let sandbox: string;
let listener: Server;
let listenerPort: number;
const received: Buffer[] = [];

before(async () => {
  f = await startFixture({ policy: examplePolicy });
  token = await issueServiceToken(ISSUER, 'ci-deploy');
  sandbox = mkdtempSync(join(tmpdir(), 'portcullis-guards-'));
  // A stand-in secret: the example policy protects every .ssh directory.
  mkdirSync(join(sandbox, '.ssh'));
  writeFileSync(join(sandbox, '.ssh', 'id_canary'), 'canary-not-a-key\n');
  listener = createServer((socket) => socket.on('data', (d: Buffer) => received.push(d)));
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  listenerPort = (listener.address() as { port: number }).port;
});
after(async () => {
  await new Promise((resolve) => listener?.close(resolve));
  if (sandbox) rmSync(sandbox, { recursive: true, force: true });
  await f?.close();
});

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const run = (line: string) => openSsh(f, 'root@web-1', [line], { token });

test('an inspection command the example policy allows runs (errors to /dev/null are fine)', async () => {
  const r = await run(`ls ${sandbox} 2>/dev/null`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '', 'ls hides dot files; the sandbox has only .ssh');
});

test('an output redirection to a file is a write the policy does not allow: refused, the file is never created', async () => {
  const target = join(sandbox, 'written-by-redirect');
  const r = await run(`ls / > ${target}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`portcullis: blocked by the policy default: no rule allows "ls / > ${escape(target)}"; the default is block`));
  assert.equal(existsSync(target), false);
});

test('a redirection to /dev/tcp is network access: refused, nothing reaches the socket', async () => {
  const r = await run(`cat /etc/hostname > /dev/tcp/127.0.0.1/${listenerPort}`);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /portcullis: blocked by the policy default: no rule allows "cat \/etc\/hostname > \/dev\/tcp\/127\.0\.0\.1\/\d+"/);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(Buffer.concat(received).length, 0);
});

test('a loader variable before an allowed program is refused by name, like env LD_PRELOAD= would be', async () => {
  for (const line of [`LD_PRELOAD=${sandbox}/none.so ls ${sandbox}`, `env LD_PRELOAD=${sandbox}/none.so ls ${sandbox}`, `export PATH=${sandbox}; ls`]) {
    const r = await run(line);
    assert.equal(r.code, 1, line);
    assert.match(r.stderr, /portcullis: blocked by rule ssh-loader-variables: .*variables that change what a program loads or runs are not allowed/, line);
    assert.equal(r.stdout, '', line);
  }
});

test('path spellings of a protected file are normalised: refused by ssh-secrets, the canary never printed', async () => {
  for (const line of [
    `cat ${sandbox}/./.ssh/../.ssh//id_canary`,
    `cat < ${sandbox}/.ssh/id_canary`,
    `cd ${sandbox} && cat .ssh/id_canary`,
    `grep -r canary ${sandbox}/.ssh`,
    `du --files0-from=${sandbox}/.ssh/id_canary`,
  ]) {
    const r = await run(line);
    assert.equal(r.code, 1, `${line}: ${r.stderr}`);
    assert.match(r.stderr, /portcullis: blocked by rule ssh-secrets: .*private keys, password hashes/, line);
    assert.doesNotMatch(r.stdout, /canary/, line);
  }
});

test('systemctl is allowed by subcommand only: another host is refused before anything runs', async () => {
  const r = await run('systemctl --host=127.0.0.1 status portcullis-none.service');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /portcullis: blocked by the policy default: no rule allows "systemctl --host=127\.0\.0\.1 status portcullis-none\.service"/);
  const stop = await run('systemctl stop portcullis-none.service');
  assert.equal(stop.code, 1);
  assert.match(stop.stderr, /portcullis: blocked by rule ssh-power-and-units: .*stopping, masking or powering off through systemctl is not allowed/);
});
