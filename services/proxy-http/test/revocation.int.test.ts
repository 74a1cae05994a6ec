/**
 * Revocation with the real kubectl and curl: a `kubectl get pods -w` watch
 * through the proxy ends within a second of the identity's revocation, a
 * request held for approval is withdrawn, and the next call is refused with
 * the reason; an idle keep-alive session is ended and its connection closed.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, get as httpGet } from 'node:http';
import type { Socket } from 'node:net';
import { eventually } from '@portcullis/kit';
import { newId, nowIso, type ApprovalsTopicEvent, type SessionTopicEvent } from '@portcullis/schemas';
import { issueHumanToken } from '@portcullis/infra';
import { ISSUER, startHarness, type Harness } from './support/harness.ts';
import { startApiUpstream, startFakeKubernetes } from './support/upstreams.ts';

/** Generous bound for "ends within 1 s" on a loaded machine; the measured figure is printed. */
const END_BOUND_MS = 3000;
const apiToken = randomBytes(24).toString('hex');
const k8sToken = randomBytes(24).toString('hex');
let h: Harness;
let api: Awaited<ReturnType<typeof startApiUpstream>>;
let k8s: Awaited<ReturnType<typeof startFakeKubernetes>>;
const approvalEvents: ApprovalsTopicEvent[] = [];

before(async () => {
  api = await startApiUpstream();
  k8s = await startFakeKubernetes();
  h = await startHarness({ api: api.url, k8s: k8s.url }, { TEST_API_TOKEN: apiToken, TEST_K8S_TOKEN: k8sToken });
});
after(async () => {
  await h?.close();
  await api?.app.close();
  await k8s?.app.close();
});

const revoke = (subject: string, reason: string) =>
  h.bus.publish('revocations', { type: 'IdentityRevoked', eventId: newId(), occurredAt: nowIso(), sessionId: `admin-${newId()}`, target: { kind: 'identity', issuer: ISSUER, subject }, reason, revokedBy: { subject: 'erin', issuer: ISSUER } });
const closedOf = (sessionId: string) => h.sink.events.find((e): e is SessionTopicEvent & { type: 'SessionClosed' } => e.type === 'SessionClosed' && e.sessionId === sessionId);

async function kubeconfig(token: string): Promise<{ file: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'pcl-kube-'));
  const file = join(dir, 'config');
  await writeFile(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: gw',
    'clusters: [{ name: gw, cluster: { server: "' + `${h.tlsProxyUrl}/r/k8s` + '", insecure-skip-tls-verify: true } }]',
    'contexts: [{ name: gw, context: { cluster: gw, user: me, namespace: default } }]',
    'users: [{ name: me, user: { token: "' + token + '" } }]',
  ].join('\n'), { mode: 0o600 });
  return { file, dir };
}

test('kubectl get pods -w ends within a second of the revocation; the next kubectl call is refused with the reason', async () => {
  const token = await issueHumanToken(ISSUER, 'bob');
  const { file, dir } = await kubeconfig(token);
  const watch = spawn('kubectl', ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), 'get', 'pods', '-w'], { env: { PATH: process.env.PATH ?? '', HOME: dir } });
  let stdout = '';
  let stderr = '';
  watch.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  watch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => watch.on('close', resolve));
  await eventually('the watch open through the proxy', () => k8s.seen.some((r) => r.url.includes('watch=')) && h.guard.live().some((s) => s.identity.subject === 'bob') && stdout.includes('web-2'), 30_000);
  const watching = h.guard.live().filter((s) => s.identity.subject === 'bob');
  const started = Date.now();
  await revoke('bob', 'account compromised');
  const code = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 15_000))]);
  const ms = Date.now() - started;
  if (code === 'still running') watch.kill();
  console.log(`# kubectl get pods -w exited ${ms} ms after the revocation was published (exit ${String(code)}): ${stderr.trim().split('\n').at(-1) ?? ''}`);
  assert.notEqual(code, 'still running', 'kubectl -w ended');
  assert.ok(ms < END_BOUND_MS, `took ${ms} ms`);
  for (const s of watching) {
    const closed = await eventually('SessionClosed of the watch', () => closedOf(s.sessionId));
    assert.match(closed.reason ?? '', /access of identity bob was revoked by erin at .*: account compromised/);
  }

  const again = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile('kubectl', ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), 'get', 'pods'], { env: { PATH: process.env.PATH ?? '', HOME: dir } }, (err, _o, e) => resolve({ code: err ? 1 : 0, stderr: e })));
  assert.equal(again.code, 1);
  assert.match(again.stderr, /Forbidden.*access of identity bob was revoked by erin at .*: account compromised/);
});

test('a request waiting for its approval is answered 403 with the reason and the approval is withdrawn', async () => {
  const token = await issueHumanToken(ISSUER, 'dave');
  const reader = await h.bus.subscribe({ groupId: `t-approvals-${newId()}`, topics: ['approvals'], fromBeginning: true, handler: async ({ event }) => void approvalEvents.push(event) });
  after(() => reader.stop());
  const pending = fetch(`${h.proxyUrl}/r/api-wait/payments`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"amount":5}' });
  const requested = await eventually('the approval requested', () => approvalEvents.find((e) => e.type === 'ApprovalRequested' && e.identity.subject === 'dave'), 30_000).catch(async (err: Error) => {
    const settled = await Promise.race([pending.then(async (r) => `${r.status} ${await r.text()}`), new Promise((r) => setTimeout(() => r('pending'), 10))]);
    throw new Error(`${err.message}; approvals seen: ${approvalEvents.length}; commands: ${h.commands.map((c) => c.command.kind === 'http' ? c.command.path : '').join(',')}; response: ${String(settled)}`);
  });
  await revoke('dave', 'on leave');
  const res = await pending;
  assert.equal(res.status, 403);
  const body = (await res.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'PCL_ERR_REVOKED');
  assert.match(body.error.message, /Portcullis ended this request: access of identity dave was revoked by erin at .*: on leave/);
  await eventually('the approval withdrawn', () => approvalEvents.find((e) => e.type === 'ApprovalCancelled' && e.approvalId === requested.approvalId));
  assert.ok(!api.seen.some((r) => r.url === '/payments' && r.body.includes('"amount":5')), 'the payment never reached the API');
});

test('an idle keep-alive session is ended by the revocation: SessionClosed with the reason, the connection closed, the next request refused', async () => {
  const subject = 'erin'; // no other test here uses erin, so her revocation touches no other session
  const token = await issueHumanToken(ISSUER, subject);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (): Promise<{ status: number; body: string; socket: Socket }> =>
    new Promise((resolve, reject) => {
      const req = httpGet(`${h.proxyUrl}/r/api/status`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: req.socket! }));
      });
      req.on('error', reject);
    });
  try {
    const first = await get();
    const second = await get();
    assert.deepEqual([first.status, second.status], [200, 200]);
    assert.equal(first.socket, second.socket, 'both requests went over one kept-alive connection');
    const commands = h.commands.filter((c) => c.identity.subject === subject);
    assert.equal(commands.length, 2);
    assert.equal(commands[0]!.sessionId, commands[1]!.sessionId, 'one session');
    const socketClosed = new Promise<void>((resolve) => first.socket.once('close', () => resolve()));
    const revokedAt = Date.now();
    await revoke(subject, 'left the company');
    const closed = await eventually('SessionClosed of the kept-alive session', () => closedOf(commands[0]!.sessionId));
    assert.match(closed.reason ?? '', /left the company/);
    await socketClosed;
    console.log(`# idle keep-alive session ended ${Date.now() - revokedAt} ms after the revocation was published`);
    const after = await get();
    assert.equal(after.status, 403);
    assert.equal(JSON.parse(after.body).error.code, 'PCL_ERR_REVOKED');
    assert.match(JSON.parse(after.body).error.message, /left the company/);
    assert.equal(h.commands.filter((c) => c.identity.subject === subject).length, 2, 'the refused request was never judged or forwarded');
  } finally {
    agent.destroy();
  }
});

test('drain (SIGTERM): a watch is ended when the grace runs out (it runs as long as it may), new requests are refused', async () => {
  const token = await issueHumanToken(ISSUER, 'carol');
  const { file, dir } = await kubeconfig(token);
  const watch = spawn('kubectl', ['--kubeconfig', file, '--cache-dir', join(dir, 'cache'), 'get', 'pods', '-w'], { env: { PATH: process.env.PATH ?? '', HOME: dir } });
  let stdout = '';
  watch.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => watch.on('close', resolve));
  await eventually('the watch open', () => stdout.includes('web-2') && h.guard.live().some((s) => s.identity.subject === 'carol'), 30_000);
  const watching = h.guard.live().filter((s) => s.identity.subject === 'carol');
  const started = Date.now();
  await h.guard.drain({ graceMs: 1000, reason: 'the gateway is shutting down' });
  await exited;
  const ms = Date.now() - started;
  console.log(`# kubectl get pods -w ended ${ms} ms into a drain with a 1 s grace`);
  assert.ok(ms >= 1000 && ms < 1000 + END_BOUND_MS, `${ms} ms`);
  for (const s of watching) assert.match((await eventually('SessionClosed', () => closedOf(s.sessionId))).reason ?? '', /the gateway is shutting down/);
  const refused = await fetch(`${h.proxyUrl}/r/api/status`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(refused.status, 503);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /the gateway is shutting down/);
});
