import { test } from 'node:test';
import assert from 'node:assert/strict';
import ssh2 from 'ssh2';
import { parseLogin, parseSshProxyConfig } from '../src/config.ts';
import { fingerprintOf } from '../src/host-key.ts';
import { StreamRecorder } from '../src/recorder.ts';
import type { AsciicastEvent } from '../src/recorder.ts';

const fp = `SHA256:${'a'.repeat(43)}`;
const document = {
  resources: [
    { name: 'orders-db', protocol: 'postgres', target: { host: 'db', database: 'orders', user: 'app' }, credential: { env: 'PGPASS' } },
    { name: 'web-1', protocol: 'ssh', tags: ['staging'], target: { host: '10.0.0.5', user: 'deploy', hostKeyFingerprint: fp, allowedUsers: ['deploy', 'root'] }, credential: { file: 'keys/web-1' } },
  ],
};

test('only the protocol: ssh entries of resources are parsed; relative credential files resolve against the config dir', () => {
  const config = parseSshProxyConfig(document, '/etc/portcullis');
  assert.equal(config.resources.length, 1);
  assert.equal(config.resources[0]!.target.port, 22);
  assert.deepEqual(config.resources[0]!.credential, { file: '/etc/portcullis/keys/web-1' });
  assert.equal(config.recording.input, false);
});

test('invalid ssh entries are refused with their path; inline secrets are not a credential form', () => {
  assert.throws(
    () => parseSshProxyConfig({ resources: [{ name: 'x', protocol: 'ssh', target: { host: 'h', user: 'u', hostKeyFingerprint: 'MD5:aa' }, credential: { password: 'hunter2' } }] }),
    (err: Error) => /resources\.0\.target\.hostKeyFingerprint/.test(err.message) && /resources\.0\.credential/.test(err.message) && !/hunter2/.test(err.message),
  );
});

test('the SSH user name is <target-user>@<resource> or <resource>', () => {
  const { resources } = parseSshProxyConfig(document);
  assert.deepEqual(parseLogin('web-1', resources), { resource: resources[0], targetUser: 'deploy' });
  assert.deepEqual(parseLogin('root@web-1', resources), { resource: resources[0], targetUser: 'root' });
  assert.deepEqual(parseLogin('mallory@web-1', resources), { error: 'user "mallory" is not offered on web-1' });
  assert.deepEqual(parseLogin('root@web-2', resources), { error: 'unknown resource "web-2"' });
});

test('fingerprints are OpenSSH SHA256 notation', () => {
  const key = ssh2.utils.parseKey(ssh2.utils.generateKeyPairSync('ed25519').public);
  assert.ok(!(key instanceof Error) && !Array.isArray(key));
  assert.match(fingerprintOf((key as ssh2.ParsedKey).getPublicSSH()), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

function recorder(options: Partial<ConstructorParameters<typeof StreamRecorder>[0]> = {}): { r: StreamRecorder; batches: { stream: AsciicastEvent[]; truncated: boolean }[] } {
  const batches: { stream: AsciicastEvent[]; truncated: boolean }[] = [];
  let t = 0;
  const r = new StreamRecorder({ clock: () => (t += 0.5), emit: (b) => batches.push(b), detectors: [], recordInput: false, flushMs: 10_000, batchBytes: 1024, maxBytes: 4096, ...options });
  return { r, batches };
}

test('the recorder batches asciicast events by size, decodes UTF-8 across chunks and records resizes', () => {
  const { r, batches } = recorder();
  const euro = Buffer.from('€');
  r.output(euro.subarray(0, 1));
  r.output(euro.subarray(1));
  r.resize(120, 40);
  // ssh -tt without a local terminal asks for a 0x0 pty: no size given, nothing to record.
  r.resize(0, 0);
  r.input(Buffer.from('secret typed'));
  r.close();
  assert.deepEqual(batches, [{ stream: [[0.5, 'o', '€'], [1, 'r', '120x40']], truncated: false }]);
  const big = recorder();
  big.r.output(Buffer.alloc(1500, 'x'));
  assert.equal(big.batches.length, 1, 'a full batch goes out at once');
});

test('masking verdicts mask the record, also across chunk boundaries; past maxBytes the record says truncated', () => {
  const { r, batches } = recorder({ detectors: ['email'] });
  r.output(Buffer.from('contact: alice.smith@exa'));
  r.output(Buffer.from('mple.com\r\n'));
  r.close();
  const text = batches.flatMap((b) => b.stream.map((e) => e[2])).join('');
  assert.doesNotMatch(text, /alice\.smith@example\.com/);
  const capped = recorder({ maxBytes: 10 });
  capped.r.output(Buffer.from('12345'));
  capped.r.output(Buffer.from('1234567890'));
  capped.r.close();
  assert.equal(capped.batches.at(-1)!.truncated, true);
});
