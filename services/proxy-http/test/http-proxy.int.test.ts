import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { get as httpGet } from 'node:http';
import { request } from 'undici';
import { newId, nowIso, verifyChain, type ChainedEvent } from '@portcullis/schemas';
import { eventually } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { ISSUER, startHarness, type Harness } from './support/harness.ts';
import { startApiUpstream, startFakeKubernetes } from './support/upstreams.ts';
import { kubectl as runKubectl } from './support/kubernetes-gateway.ts';

const run = promisify(execFile);
const apiToken = randomBytes(24).toString('hex');
const k8sToken = randomBytes(24).toString('hex');
let h: Harness;
let api: Awaited<ReturnType<typeof startApiUpstream>>;
let k8s: Awaited<ReturnType<typeof startFakeKubernetes>>;
let ciToken: string;
let aliceToken: string;

before(async () => {
  api = await startApiUpstream();
  k8s = await startFakeKubernetes();
  h = await startHarness({ api: api.url, k8s: k8s.url }, { TEST_API_TOKEN: apiToken, TEST_K8S_TOKEN: k8sToken });
  [ciToken, aliceToken] = await Promise.all([issueServiceToken(ISSUER, 'ci-deploy'), issueHumanToken(ISSUER, 'alice')]);
});
after(async () => {
  await h?.close();
  await api?.app.close();
  await k8s?.app.close();
});

async function curl(args: string[]): Promise<{ status: number; body: string }> {
  const { stdout } = await run('curl', ['-sS', '-w', '\n%{http_code}', ...args]);
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: stdout.slice(0, at) };
}

test('no or bad token: 401 JSON, nothing forwarded', async () => {
  const before = api.seen.length;
  const none = await curl([`${h.proxyUrl}/r/api/status`]);
  assert.equal(none.status, 401);
  assert.equal(JSON.parse(none.body).error.code, 'PCL_ERR_UNAUTHENTICATED');
  const bad = await curl(['-H', `Authorization: Bearer ${ciToken.slice(0, -4)}AAAA`, `${h.proxyUrl}/r/api/status`]);
  assert.equal(bad.status, 401);
  assert.match(JSON.parse(bad.body).error.message, /signature/);
  assert.equal(api.seen.length, before);
});

test('allowed: forwarded with the gateway credential instead of the caller token, recorded on one chain', async () => {
  const res = await curl(['-H', `Authorization: Bearer ${aliceToken}`, '-H', 'Cookie: session=abc', `${h.proxyUrl}/r/api/whoami`]);
  assert.equal(res.status, 200);
  const body = JSON.parse(res.body);
  assert.equal(body.authorization, `Bearer ${apiToken}`, 'the upstream gets the gateway credential');
  assert.equal(body.cookie, null);
  const cmd = h.commands.find((c) => c.command.kind === 'http' && c.command.path === '/whoami')!;
  assert.ok(cmd);
  assert.equal(cmd.identity.subject, 'alice');
  assert.ok(!JSON.stringify(cmd).includes(aliceToken) && !JSON.stringify(cmd).includes(apiToken));
  const events = await eventually('session closed', () => {
    const e = h.sink.ofSession(cmd.sessionId);
    return e.some((x) => x.type === 'SessionClosed') ? e : undefined;
  });
  assert.deepEqual([cmd, ...events].map((e) => e.type).sort(), ['CommandCompleted', 'CommandRequested', 'OutputRecorded', 'SessionClosed', 'SessionOpened']);
  const completed = events.find((e) => e.type === 'CommandCompleted')!;
  assert.equal(completed.type === 'CommandCompleted' && completed.tag, '200');
  const opened = events.find((e) => e.type === 'SessionOpened')!;
  const exp = (JSON.parse(Buffer.from(aliceToken.split('.')[1]!, 'base64url').toString('utf8')) as { exp: number }).exp;
  assert.equal(opened.type === 'SessionOpened' && opened.tokenExpiresAt, new Date(exp * 1000).toISOString(), 'SessionOpened records the token expiry');
  assert.deepEqual(verifyChain([cmd, ...events] as unknown as ChainedEvent[]), { integrity: 'ok', lastSeq: 5 });
  assert.ok(!JSON.stringify(events).includes(apiToken), 'the upstream credential never reaches the record');
});

test('a keep-alive connection is one session per token: one SessionOpened, a command per request, SessionClosed when the token changes or the connection closes', async () => {
  const marker = `keepalive-${newId()}`;
  const url = (n: number): string => `${h.proxyUrl}/r/api/status?${marker}=${n}`;
  // One curl: three requests with alice's token, then (--next) one with the CI job's, on the same connection.
  const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', '-H', `Authorization: Bearer ${aliceToken}`, url(1), url(2), url(3), '--next', '-sS', '-o', '/dev/null', '-w', '%{http_code} %{num_connects}\n', '-H', `Authorization: Bearer ${ciToken}`, url(4)]);
  assert.deepEqual(stdout.trim().split('\n'), ['200 1', '200 0', '200 0', '200 0'], 'curl reused its one connection for all four requests');
  const mine = h.commands.filter((c) => c.command.kind === 'http' && (c.command.query ?? '').includes(marker));
  assert.equal(mine.length, 4);
  const [a1, a2, a3, ci] = mine.sort((x, y) => (x.command as { query: string }).query.localeCompare((y.command as { query: string }).query));
  assert.equal(new Set([a1!.sessionId, a2!.sessionId, a3!.sessionId]).size, 1, "alice's three requests are one session");
  assert.notEqual(ci!.sessionId, a1!.sessionId, 'another token is another session');
  assert.equal(ci!.identity.subject, 'ci-deploy');
  const alice = await eventually("alice's session closed", () => {
    const e = h.sink.ofSession(a1!.sessionId);
    return e.some((x) => x.type === 'SessionClosed') ? e : undefined;
  });
  assert.deepEqual(alice.filter((e) => e.type === 'SessionOpened').length, 1);
  assert.deepEqual(alice.filter((e) => e.type === 'CommandCompleted').map((e) => e.type === 'CommandCompleted' && e.tag), ['200', '200', '200']);
  const closed = alice.find((e) => e.type === 'SessionClosed')!;
  assert.match(closed.type === 'SessionClosed' ? closed.reason ?? '' : '', /another token/);
  assert.deepEqual(verifyChain([a1!, a2!, a3!, ...alice] as unknown as ChainedEvent[]), { integrity: 'ok', lastSeq: 11 });
  // The CI job's session ends when curl closes the connection.
  const job = await eventually("the job's session closed", () => {
    const e = h.sink.ofSession(ci!.sessionId);
    return e.some((x) => x.type === 'SessionClosed') ? e : undefined;
  });
  assert.deepEqual(job.map((e) => e.type), ['SessionOpened', 'CommandCompleted', 'OutputRecorded', 'SessionClosed']);
});

test('a caller that hangs up mid-response: its command is recorded as cut off before the session closes (SessionClosed stays last)', async () => {
  const before = h.commands.length;
  await new Promise<void>((resolve, reject) => {
    const req = httpGet(`${h.proxyUrl}/r/api/chunked`, { headers: { authorization: `Bearer ${aliceToken}` } }, (res) => {
      res.once('data', () => {
        // The first chunk arrived; the rest is still upstream: hang up now.
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => ((err as { code?: string }).code === 'ECONNRESET' ? undefined : reject(err)));
  });
  const cmd = await eventually('the /chunked command', () => h.commands.slice(before).find((c) => c.command.kind === 'http' && c.command.path === '/chunked'));
  const events = await eventually('session closed', () => {
    const e = h.sink.ofSession(cmd.sessionId);
    return e.some((x) => x.type === 'SessionClosed') ? e : undefined;
  });
  api.release();
  const chain = [cmd, ...events].sort((a, b) => a.seq - b.seq);
  assert.equal(chain.at(-1)!.type, 'SessionClosed', `the close is the session's last event: ${chain.map((e) => e.type).join(', ')}`);
  const completed = events.find((e) => e.type === 'CommandCompleted');
  assert.ok(completed && completed.type === 'CommandCompleted' && completed.status === 'failed' && /cut off/.test(completed.error ?? ''), JSON.stringify(completed));
  assert.deepEqual(verifyChain(chain as unknown as ChainedEvent[]).integrity, 'ok');
});

test('blocked: 403 JSON naming the rule and reason, nothing forwarded', async () => {
  const before = api.seen.length;
  const res = await curl(['-H', `Authorization: Bearer ${aliceToken}`, `${h.proxyUrl}/r/api/admin/users`]);
  assert.equal(res.status, 403);
  const err = JSON.parse(res.body).error;
  assert.equal(err.code, 'PCL_ERR_FORBIDDEN');
  assert.match(err.message, /no-admin/);
  assert.match(err.message, /nobody calls the admin API/);
  // Dot segments and encoding do not get around it.
  const sneaky = await curl(['--path-as-is', '-H', `Authorization: Bearer ${aliceToken}`, `${h.proxyUrl}/r/api/status/../%61dmin/users`]);
  assert.equal(sneaky.status, 403);
  // `..;` is `..` to a servlet container: path parameters are refused outright.
  for (const path of ['/status/..;/admin/users', '/status/%2e%2e;/admin/users', '/status;x=1', '/status%3Bx']) {
    const semi = await curl(['--path-as-is', '-H', `Authorization: Bearer ${aliceToken}`, `${h.proxyUrl}/r/api${path}`]);
    assert.equal(semi.status, 400, `${path}: ${semi.body}`);
  }
  // Nor may a header name another method or path than the one judged.
  for (const header of ['X-HTTP-Method-Override: DELETE', 'X-Original-URL: /admin/users', 'X-Rewrite-URL: /admin/users', 'X_Original_URL: /admin/users', 'Impersonate_User: admin']) {
    const redirected = await curl(['-H', `Authorization: Bearer ${aliceToken}`, '-H', header, `${h.proxyUrl}/r/api/status`]);
    assert.equal(redirected.status, 400, `${header}: ${redirected.body}`);
  }
  assert.equal(api.seen.length, before);
  // What is allowed goes upstream as judged, not as spelled.
  const spelled = await curl(['--path-as-is', '-H', `Authorization: Bearer ${aliceToken}`, `${h.proxyUrl}/r/api//x/..//%73tatus`]);
  assert.equal(spelled.status, 200, spelled.body);
  assert.equal(api.seen.at(-1)!.url, '/status');
});

test('masked JSON: fields and detectors (undici)', async () => {
  const res = await request(`${h.proxyUrl}/r/api/customers/7`, { headers: { authorization: `Bearer ${ciToken}` } });
  assert.equal(res.statusCode, 200);
  const text = await res.body.text();
  const doc = JSON.parse(text);
  assert.notEqual(doc.email, 'erika@example.com');
  assert.match(doc.email, /\*/);
  assert.notEqual(doc.billing.card_number, '4111111111111111');
  assert.equal(doc.billing.country, 'DE');
  assert.equal(doc.name, 'Erika Mustermann');
  for (const secret of ['erika.m@example.org', '078-05-1120', '415 555 0134', '4111111111111111']) assert.ok(!text.includes(secret), `${secret} is masked`);
  // A human gets it unmasked.
  const human = await request(`${h.proxyUrl}/r/api/customers/7`, { headers: { authorization: `Bearer ${aliceToken}` } });
  assert.equal((await human.body.json() as { email: string }).email, 'erika@example.com');
});

test('streaming: chunked and SSE pass through incrementally', async () => {
  for (const path of ['/chunked', '/events']) {
    const res = await request(`${h.proxyUrl}/r/api${path}`, { headers: { authorization: `Bearer ${path === '/events' ? ciToken : aliceToken}` } });
    assert.equal(res.statusCode, 200);
    const it = res.body[Symbol.asyncIterator]();
    const first = await Promise.race([it.next(), new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`no first chunk of ${path} before the upstream finished`)), 5000))]);
    const text = Buffer.from(first.value as Buffer).toString();
    if (path === '/chunked') assert.match(text, /first chunk/);
    else {
      assert.match(text, /"n":1/);
      assert.ok(!text.includes('erika@example.com'), 'SSE data lines are masked as they stream');
    }
    api.release();
    let rest = '';
    for (let n = await it.next(); !n.done; n = await it.next()) rest += Buffer.from(n.value as Buffer).toString();
    assert.match(rest, path === '/chunked' ? /last chunk/ : /"n":2/);
  }
});

test('masked response above the cap: 502, never passed unmasked', async () => {
  const res = await curl(['-H', `Authorization: Bearer ${ciToken}`, `${h.proxyUrl}/r/api/customers/export`]);
  assert.equal(res.status, 502);
  assert.equal(JSON.parse(res.body).error.code, 'PCL_ERR_MASK_LIMIT');
  assert.ok(!res.body.includes('erika@example.com'));
  const small = await curl(['-H', `Authorization: Bearer ${ciToken}`, `${h.proxyUrl}/r/api/customers`]);
  assert.equal(small.status, 200, 'small masked JSON passes');
  assert.ok(!small.body.includes('a@example.com'));
});

test('held, then granted: 202 with the approval id, the retry with Portcullis-Approval is forwarded once', async () => {
  const before = api.seen.filter((s) => s.url === '/payments').length;
  const body = JSON.stringify({ amount: 100 });
  const held = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${aliceToken}`, '-H', 'content-type: application/json', '-d', body, `${h.proxyUrl}/r/api/payments`]);
  assert.equal(held.status, 202);
  const { approvalId } = JSON.parse(held.body).error.details;
  assert.ok(approvalId);
  assert.equal(api.seen.filter((s) => s.url === '/payments').length, before);
  // Another body with the same approval id is refused.
  const other = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${aliceToken}`, '-H', `Portcullis-Approval: ${approvalId}`, '-H', 'content-type: application/json', '-d', '{"amount":100000}', `${h.proxyUrl}/r/api/payments`]);
  assert.equal(other.status, 409);
  // Nor are the headers policies see: another identity to impersonate, another request id.
  for (const extra of ['Impersonate-User: admin', 'X-Request-Id: another-one']) {
    const changed = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${aliceToken}`, '-H', `Portcullis-Approval: ${approvalId}`, '-H', extra, '-H', 'content-type: application/json', '-d', body, `${h.proxyUrl}/r/api/payments`]);
    assert.equal(changed.status, 409, `${extra}: ${changed.body}`);
    assert.match(JSON.parse(changed.body).error.message, /headers policies see/);
  }
  await h.bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), sessionId: 'approvals-test', approvalId, approvers: ['dave'] });
  const replay = await eventually('the grant to take effect', async () => {
    const r = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${aliceToken}`, '-H', `Portcullis-Approval: ${approvalId}`, '-H', 'content-type: application/json', '-d', body, `${h.proxyUrl}/r/api/payments`]);
    return r.status === 202 ? undefined : r;
  });
  assert.equal(replay.status, 200);
  assert.equal(JSON.parse(replay.body).paid, true);
  assert.equal(api.seen.filter((s) => s.url === '/payments').length, before + 1);
  const again = await curl(['-X', 'POST', '-H', `Authorization: Bearer ${aliceToken}`, '-H', `Portcullis-Approval: ${approvalId}`, '-H', 'content-type: application/json', '-d', body, `${h.proxyUrl}/r/api/payments`]);
  assert.equal(again.status, 409, 'an approval is used once');
});

test('hold in wait mode: the original request proceeds once granted', async () => {
  const pending = request(`${h.proxyUrl}/r/api-wait/payments`, { method: 'POST', headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' }, body: '{"amount":5}' });
  const cmd = await eventually('the held command', () => h.commands.find((c) => c.resource.name === 'api-wait' && c.command.kind === 'http' && c.command.path === '/payments'));
  const verdict = await h.gate.awaitFinal(cmd.commandId, { timeoutMs: 1 }).catch(() => undefined);
  assert.equal(verdict, undefined, 'not final yet');
  // The approval id is in the hold verdict: read it from the approvals the PDP requested.
  const approvalId = await eventually('the approval request', async () => findApproval(cmd.commandId));
  await h.bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), sessionId: 'approvals-test', approvalId, approvers: ['dave'] });
  const res = await pending;
  assert.equal(res.statusCode, 200);
  const seen = api.seen.find((s) => s.url === '/payments' && s.body.includes('"amount":5'))!;
  assert.equal(seen.headers['x-api-key'], apiToken, 'header injection');
});

test('a caller who disconnects while its request is held (wait mode) withdraws the approval: the approvals API shows it cancelled', async () => {
  const aborter = new AbortController();
  const pending = request(`${h.proxyUrl}/r/api-wait/payments`, { method: 'POST', headers: { authorization: `Bearer ${aliceToken}`, 'content-type': 'application/json' }, body: '{"amount":77}', signal: aborter.signal }).catch((err: Error) => err);
  const cmd = await eventually('the held command', () => h.commands.find((c) => c.command.kind === 'http' && c.command.path === '/payments' && c.command.bodySize === 13));
  const requested = new Map<string, string>();
  const reader = await h.bus.subscribe({
    groupId: `t-approvals-${newId()}`, topics: ['approvals'], fromBeginning: true,
    handler: async ({ event }) => void (event.type === 'ApprovalRequested' && requested.set(event.commandId, event.approvalId)),
  });
  after(() => reader.stop());
  const approvalId = await eventually('the approval request', () => requested.get(cmd.commandId));
  aborter.abort();
  assert.ok((await pending) instanceof Error, 'the caller went away');
  const shown = await eventually('the approval cancelled in the API', async () => {
    const res = await fetch(`${h.approvals.url}/approvals/${approvalId}`, { headers: { authorization: `Bearer ${aliceToken}` } });
    const body = (await res.json()) as { status?: string };
    return body.status === 'cancelled' ? body : undefined;
  }, 20_000);
  assert.equal(shown.status, 'cancelled');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(api.seen.some((s) => s.url === '/payments' && s.body.includes('"amount":77')), false, 'nothing was forwarded');
  // The connection closed while the command was held: the session closes only after the command's end is recorded.
  const events = await eventually('session closed', () => {
    const e = h.sink.ofSession(cmd.sessionId);
    return e.some((x) => x.type === 'SessionClosed') ? e : undefined;
  });
  // undici keeps connections alive: earlier requests of this test file may share the session.
  const chain = [...h.commands.filter((c) => c.sessionId === cmd.sessionId), ...events].sort((x, y) => x.seq - y.seq);
  assert.deepEqual(chain.slice(-2).map((e) => e.type), ['CommandCompleted', 'SessionClosed'], chain.map((e) => e.type).join(', '));
  assert.equal(verifyChain(chain as unknown as ChainedEvent[]).integrity, 'ok');
});

const approvals = new Map<string, string>();
let approvalsReader: Promise<unknown> | undefined;
async function findApproval(commandId: string): Promise<string | undefined> {
  approvalsReader ??= h.bus.subscribe({
    groupId: `t-approvals-${newId()}`, topics: ['approvals'], fromBeginning: true,
    handler: async ({ event }) => void (event.type === 'ApprovalRequested' && approvals.set(event.commandId, event.approvalId)),
  }).then((s) => after(() => s.stop()));
  await approvalsReader;
  return approvals.get(commandId);
}

// ---------------------------------------------------------------- Kubernetes, driven by the real kubectl

const kubectl = (args: string[], token = aliceToken): ReturnType<typeof runKubectl> => runKubectl({ server: `${h.tlsProxyUrl}/r/k8s` }, args, token);

function k8sCommands(from: number) {
  return h.commands.slice(from).filter((c) => c.resource.name === 'k8s' && c.command.kind === 'http' && c.command.kubernetes).map((c) => (c.command.kind === 'http' ? c.command : undefined)!);
}

test('kubectl get / list / apply / logs -f / exec are classified as the API server would', async () => {
  let from = h.commands.length;
  const list = await kubectl(['get', 'pods']);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /web-1/);
  assert.ok(k8s.seen.every((s) => s.headers.authorization === `Bearer ${k8sToken}`), 'the API server only ever sees the service-account token');
  assert.deepEqual(k8sCommands(from).map((c) => c.kubernetes), [{ verb: 'list', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'default' }]);

  from = h.commands.length;
  const get = await kubectl(['get', 'pod', 'web-1', '-o', 'json']);
  assert.equal(get.code, 0, get.stderr);
  assert.deepEqual(k8sCommands(from).map((c) => c.kubernetes), [{ verb: 'get', apiGroup: '', apiVersion: 'v1', resource: 'pods', namespace: 'default', name: 'web-1' }]);

  from = h.commands.length;
  const { writeFile, mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const manifest = `${await mkdtemp(`${tmpdir()}/pcl-manifest-`)}/pod.json`;
  await writeFile(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'new-pod', namespace: 'default' }, spec: { containers: [{ name: 'app', image: 'nginx' }] } }));
  const apply = await kubectl(['apply', '--validate=false', '-f', manifest]);
  assert.equal(apply.code, 0, apply.stderr);
  const applied = k8sCommands(from).map((c) => c.kubernetes);
  assert.ok(applied.some((k) => k?.verb === 'get' && k.name === 'new-pod'), JSON.stringify(applied));
  assert.ok(applied.some((k) => k?.verb === 'create' && k.resource === 'pods'), JSON.stringify(applied));
  const created = k8sCommands(from).find((c) => c.kubernetes?.verb === 'create')!;
  assert.ok(created.bodySize > 0 && /^[0-9a-f]{64}$/.test(created.bodyDigest ?? ''));

  from = h.commands.length;
  const logs = await kubectl(['logs', '-f', 'web-1']);
  assert.equal(logs.code, 0, logs.stderr);
  assert.match(logs.stdout, /log line 1\nlog line 2/);
  assert.ok(k8sCommands(from).some((c) => c.kubernetes?.subresource === 'log' && c.kubernetes.verb === 'get' && /follow=true/.test(c.query)));

  from = h.commands.length;
  const exec = await kubectl(['exec', 'web-1', '--', 'echo', 'hi']);
  const execCmd = k8sCommands(from).find((c) => c.kubernetes?.subresource === 'exec');
  assert.ok(execCmd, `exec was judged: ${exec.stderr}`);
  assert.equal(execCmd.kubernetes?.verb, 'connect');
  assert.equal(execCmd.upgrade?.toLowerCase(), 'websocket');
  assert.equal(exec.code, 0, exec.stderr);
  assert.match(exec.stdout, /hello from exec/);
});

test('kubectl shows a blocked delete as the API server\'s Forbidden, and the API server never sees it', async () => {
  const before = k8s.seen.filter((s) => s.method === 'DELETE').length;
  const del = await kubectl(['delete', 'pod', 'web-1']);
  assert.notEqual(del.code, 0);
  assert.match(del.stderr, /Error from server \(Forbidden\)/);
  assert.match(del.stderr, /k8s-no-delete/);
  assert.match(del.stderr, /release pipeline/);
  assert.equal(k8s.seen.filter((s) => s.method === 'DELETE').length, before);
});

test('Secret data is masked by default in kubectl get secret -o yaml', async () => {
  const res = await kubectl(['get', 'secret', 'db-password', '-o', 'yaml']);
  assert.equal(res.code, 0, res.stderr);
  assert.match(res.stdout, /password: KioqKg==/);
  assert.ok(!res.stdout.includes(Buffer.from(k8s.secretValue).toString('base64')));
  assert.ok(!JSON.stringify(h.sink.events).includes(Buffer.from(k8s.secretValue).toString('base64')));
});

test('kubectl: proxy subresources are Forbidden even to a rule that allows every GET, and never reach the API server', async () => {
  const before = k8s.seen.length;
  for (const path of ['/api/v1/nodes/node-1/proxy/stats/summary', '/api/v1/namespaces/default/pods/web-1:8080/proxy/metrics', '/api/v1/namespaces/default/services/https:web:443/proxy/admin']) {
    // --raw takes the path from the host's root, ignoring the kubeconfig server's /r/k8s prefix.
    const raw = await kubectl(['get', '--raw', `/r/k8s${path}`]);
    assert.notEqual(raw.code, 0, path);
    assert.match(raw.stderr, /Error from server \(Forbidden\)/, path);
    assert.match(raw.stderr, /no rule allows GET .*proxy.* \(class proxy\)/, path);
  }
  const cmd = h.commands.findLast((c) => c.command.kind === 'http' && c.command.path.endsWith('/proxy/admin'));
  assert.equal(cmd?.command.kind === 'http' && cmd.command.kubernetes?.subresource, 'proxy');
  assert.deepEqual(k8s.seen.slice(before).filter((s) => s.url.includes('/proxy')), []);
});

test('kubectl --as: impersonation is refused unless a rule allows it, and then reaches the API server as judged', async () => {
  const before = k8s.seen.length;
  const admin = await kubectl(['--as=admin', 'get', 'pods']);
  assert.notEqual(admin.code, 0);
  assert.match(admin.stderr, /Forbidden/);
  const masters = await kubectl(['--as=dev-ann', '--as-group=system:masters', 'get', 'pods']);
  assert.notEqual(masters.code, 0, 'a group the rule does not name');
  assert.match(masters.stderr, /Forbidden/);
  assert.deepEqual(k8s.seen.slice(before).filter((s) => s.headers['impersonate-user'] !== undefined), [], 'nothing impersonating reached the API server');

  const dev = await kubectl(['--as=dev-ann', 'get', 'pods']);
  assert.equal(dev.code, 0, dev.stderr);
  assert.match(dev.stdout, /web-1/);
  const seen = k8s.seen.slice(before).filter((s) => s.url.startsWith('/api/v1/namespaces/default/pods'));
  assert.ok(seen.length > 0 && seen.every((s) => s.headers['impersonate-user'] === 'dev-ann' && s.headers.authorization === `Bearer ${k8sToken}`));
  const judged = h.commands.findLast((c) => c.command.kind === 'http' && c.command.path === '/api/v1/namespaces/default/pods');
  assert.equal(judged?.command.kind === 'http' && judged.command.headers['impersonate-user'], 'dev-ann', 'the record shows who was impersonated');
});

test('curl: front-proxy identity headers never reach the API server', async () => {
  const before = k8s.seen.length;
  const res = await curl(['-k', '-H', `Authorization: Bearer ${aliceToken}`, '-H', 'X-Remote-User: admin', '-H', 'X-Remote-Group: system:masters', `${h.tlsProxyUrl}/r/k8s/api/v1/namespaces/default/pods`]);
  assert.equal(res.status, 200, res.body);
  const seen = k8s.seen.slice(before);
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.headers['x-remote-user'], undefined);
  assert.equal(seen[0]!.headers['x-remote-group'], undefined);
});

test('curl: a WebSocket upgrade to nodes/<n>/proxy/exec is refused before anything goes upstream', async () => {
  const before = k8s.seen.length;
  const res = await curl(['--http1.1', '-H', `Authorization: Bearer ${aliceToken}`, '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13',
    '-H', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, '-H', 'Sec-WebSocket-Protocol: v4.channel.k8s.io',
    `${h.proxyUrl}/r/k8s/api/v1/nodes/node-1/proxy/exec/default/web-1/app?command=id&output=1`]);
  assert.equal(res.status, 403, res.body);
  assert.equal(JSON.parse(res.body).reason, 'Forbidden');
  // A WebSocket watch of Secrets would stream them unmasked.
  const watch = await curl(['--http1.1', '-H', `Authorization: Bearer ${aliceToken}`, '-H', 'Connection: Upgrade', '-H', 'Upgrade: websocket', '-H', 'Sec-WebSocket-Version: 13',
    '-H', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, `${h.proxyUrl}/r/k8s/api/v1/namespaces/default/secrets?watch=1`]);
  assert.equal(watch.status, 403, watch.body);
  assert.match(JSON.parse(watch.body).message, /cannot be masked/);
  // h2c (or any protocol but WebSocket and SPDY) would tunnel requests nobody judged.
  const h2c = await curl(['--http2', '-H', `Authorization: Bearer ${aliceToken}`, `${h.proxyUrl}/r/api/status`]);
  assert.equal(h2c.status, 400, h2c.body);
  assert.match(h2c.body, /upgrades only to websocket/);
  assert.deepEqual(k8s.seen.slice(before), []);
});

test('curl --path-as-is: spellings the policy and the API server could read differently are refused', async () => {
  const before = k8s.seen.length;
  const cases = [
    '/api/v1/namespaces/default/SECRETS/db-password',
    '/api/v1/namespaces/default/secrets./db-password',
    '/api/v1/namespaces/default/secrets/db-password..;',
    '/api/v1/namespaces/default/pods/web-1/exec;x=y?command=id',
    '/api/v1/namespaces/default/pods/web-1/exec%20?command=id',
    '/api/v1/namespaces/default/%73ecrets/db-password',
    '/api/v1/namespaces/default%2Fsecrets',
    '/apis/v1/namespaces/default/secrets/db-password',
    '/api//v1/namespaces/default/secrets',
    '/api/v1/namespaces/default/./secrets/db-password',
    '/api/v1/namespaces/other/../default/secrets/db-password',
    '/api/v1/namespaces/default/pods/web-1/log/../../../secrets/db-password',
    '/api/v1/namespaces/default/pods/',
    '/api/v1/namespaces/default/pods?watch=1;x=y',
  ];
  for (const path of cases) {
    const res = await curl(['-k', '--path-as-is', '-X', path.includes('/exec') ? 'POST' : 'GET', '-H', `Authorization: Bearer ${aliceToken}`, `${h.tlsProxyUrl}/r/k8s${path}`]);
    assert.ok(res.status === 400 || res.status === 403, `${path}: ${res.status} ${res.body}`);
    assert.equal(JSON.parse(res.body).kind, 'Status', path);
  }
  assert.deepEqual(k8s.seen.slice(before).map((s) => s.url), [], 'the API server saw none of them');
});

// ---------------------------------------------------------------- request smuggling, over raw sockets

async function raw(bytes: string): Promise<string> {
  const { connect } = await import('node:net');
  const { port } = new URL(h.proxyUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('close', () => resolve(got));
    socket.on('error', () => resolve(got));
    socket.write(bytes);
    setTimeout(() => socket.end(), 1500);
  });
}

test('smuggling and malformed requests are refused and nothing reaches the upstream', async () => {
  const auth = `Authorization: Bearer ${aliceToken}\r\n`;
  const cases: [string, string, RegExp][] = [
    ['CL + TE', `POST /r/api/echo HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/plain\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /r/api/admin/users HTTP/1.1\r\nHost: x\r\n\r\n`, /^HTTP\/1\.1 400/],
    ['two Content-Lengths', `POST /r/api/echo HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/plain\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\nabcd`, /^HTTP\/1\.1 400/],
    ['obfuscated TE', `POST /r/api/echo HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/plain\r\nTransfer-Encoding : chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`, /^HTTP\/1\.1 400/],
    ['CR in a header value', `GET /r/api/status HTTP/1.1\r\nHost: x\r\n${auth}X-Injected: a\rSet-Cookie: b\r\n\r\n`, /^HTTP\/1\.1 400/],
    ['bare LF in a header value', `GET /r/api/status HTTP/1.1\r\nHost: x\r\n${auth}X-Injected: a\nFoo: b\r\n\r\n`, /^HTTP\/1\.1 400/],
    ['oversized header', `GET /r/api/status HTTP/1.1\r\nHost: x\r\n${auth}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 4(00|31)/],
    ['oversized body', `POST /r/api/echo HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/plain\r\nContent-Length: ${100 * 1024}\r\n\r\n${'a'.repeat(100 * 1024)}`, /^HTTP\/1\.1 413/],
    ['no Host', `GET /r/api/status HTTP/1.1\r\n${auth}\r\n`, /^HTTP\/1\.1 400/],
  ];
  const before = api.seen.length;
  for (const [name, bytes, expected] of cases) {
    const answer = await raw(bytes);
    assert.match(answer, expected, `${name}: ${answer.slice(0, 200)}`);
  }
  assert.deepEqual(api.seen.slice(before).map((s) => `${s.method} ${s.url}`), [], 'the upstream saw nothing');
  // A well-formed request on the same path still works.
  assert.match(await raw(`POST /r/api/echo HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd`), /^HTTP\/1\.1 200[\s\S]*abcd/);
});
