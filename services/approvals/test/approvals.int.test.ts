/**
 * The hold workflow end to end through the real broker, registry and OpenID
 * provider: the real PDP in-process, a command gate playing the proxy, the
 * approvals API driven with real tokens, and local webhook receivers.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { newId, nowIso, SessionChain, type ApprovalsTopicEvent, type CommandRequested, type Identity, type VerdictIssued } from '@portcullis/schemas';
import { createCommandGate, createIdentityVerifier, createTestBus, eventually, silentLogger, type Bus, type ClosableCommandGate as CommandGate } from '@portcullis/kit';
import { publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { startApprovalsService, verifySignature, type ApprovalsService } from '../src/index.ts';

const ISSUER = 'http://127.0.0.1:9400';
const verifier = createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] });

const policy = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: writes-need-a-dba
    effect: hold
    reason: writes to orders need a DBA
    match: { resource: { names: [orders-db] }, protocol: postgres, sql: { classes: [write] } }
    approval: { approverGroups: [dba], quorum: 1, ttl: 10m }
  - id: ledger-needs-two
    effect: hold
    reason: ledger writes need two approvers
    match: { resource: { names: [ledger-db] }, protocol: postgres, sql: { classes: [write] } }
    approval: { approverGroups: [approvers], quorum: 2, ttl: 10m }
  - id: scratch-expires-fast
    effect: hold
    reason: scratch writes wait two seconds at most
    match: { resource: { names: [scratch-db] }, protocol: postgres, sql: { classes: [write] } }
    approval: { approverGroups: [dba], quorum: 1, ttl: 2s }
`;

const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

let bus: Bus;
let gate: CommandGate;
let service: ApprovalsService;
const tokens: Record<string, string> = {};
const identities: Record<string, Identity> = {};
const secrets = { good: randomBytes(32).toString('hex'), flaky: randomBytes(32).toString('hex'), stuck: randomBytes(32).toString('hex'), slack: randomBytes(32).toString('hex') };
const env = { HOOK_GOOD: secrets.good, HOOK_FLAKY: secrets.flaky, HOOK_STUCK: secrets.stuck, HOOK_SLACK: secrets.slack };

interface Received {
  body: string;
  headers: IncomingMessage['headers'];
  at: number;
}
const received: Record<'good' | 'flaky' | 'stuck' | 'slack', Received[]> = { good: [], flaky: [], stuck: [], slack: [] };
const flakyAttempts = new Map<string, number>();

async function receiver(name: keyof typeof received, answer: (r: Received) => number | 'hang'): Promise<string> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, at: Date.now() };
      received[name].push(r);
      const status = answer(r);
      if (status === 'hang') return;
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => (server.closeAllConnections(), server.close(r))));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
}

let webhookConfig: { name: string; url: string; secretEnv: string; format: 'json' | 'slack' }[];

async function startService(): Promise<ApprovalsService> {
  const s = await startApprovalsService({
    bus, logger: silentLogger(), verifier, webhooks: webhookConfig, env, port: 0,
    webhookRetry: { attempts: 3, baseDelayMs: 100, maxDelayMs: 400, timeoutMs: 1000 },
  });
  return s;
}

before(async () => {
  bus = createTestBus('approvals', { partitions: 3 });
  await bus.connect();
  cleanup.push(() => bus.disconnect());
  for (const person of ['alice', 'bob', 'carol', 'dave']) {
    tokens[person] = await issueHumanToken(ISSUER, person);
    identities[person] = await verifier.verify(tokens[person]!);
  }
  tokens['ci-deploy'] = await issueServiceToken(ISSUER, 'ci-deploy');
  identities['ci-deploy'] = await verifier.verify(tokens['ci-deploy']!);

  webhookConfig = [
    { name: 'good', url: await receiver('good', () => 204), secretEnv: 'HOOK_GOOD', format: 'json' },
    {
      name: 'flaky',
      // Fails the first two attempts of every event.
      url: await receiver('flaky', (r) => {
        const key = String(r.headers['idempotency-key']);
        const n = (flakyAttempts.get(key) ?? 0) + 1;
        flakyAttempts.set(key, n);
        return n <= 2 ? 500 : 200;
      }),
      secretEnv: 'HOOK_FLAKY',
      format: 'json',
    },
    { name: 'stuck', url: await receiver('stuck', () => 'hang'), secretEnv: 'HOOK_STUCK', format: 'json' },
    { name: 'slack', url: await receiver('slack', () => 200), secretEnv: 'HOOK_SLACK', format: 'slack' },
  ];

  assert.ok((await publishPolicy({ bus, yamlText: policy, fileName: 'approvals-test.yaml' })).ok);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  cleanup.push(() => pdp.stop());
  gate = await createCommandGate({ bus, timeoutMs: 20_000 });
  cleanup.push(() => gate.close());
  service = await startService();
  cleanup.push(() => service.stop());
});

const chain = new SessionChain();
function sqlCommand(who: Identity, resource: string, text: string): CommandRequested {
  return chain.next({
    type: 'CommandRequested' as const, eventId: newId(), occurredAt: nowIso(), sessionId: 's-approvals', commandId: newId(),
    identity: who, resource: { name: resource, kind: 'postgres' as const, tags: ['production'] }, protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text, phase: 'simple' as const },
  });
}

/** Runs a command to its hold verdict and waits until the approvals service holds the approval. */
async function hold(who: Identity, resource: string, text = "UPDATE orders SET status = 'shipped' WHERE id = 7"): Promise<{ command: CommandRequested; approvalId: string }> {
  const command = sqlCommand(who, resource, text);
  const verdict = await gate.judge(command);
  assert.equal(verdict.effect, 'hold', verdict.reasons.join('; '));
  const approvalId = verdict.approvalId!;
  await eventually('the approval in the projection', () => service.workflow.get(approvalId).status === 'pending' || undefined);
  return { command, approvalId };
}

const final = (command: CommandRequested): Promise<VerdictIssued> => gate.awaitFinal(command.commandId, { timeoutMs: 15_000 });

async function call(method: 'GET' | 'POST', url: string, as?: string, payload?: unknown) {
  const res = await service.app.inject({
    method, url,
    headers: { ...(as ? { authorization: `Bearer ${tokens[as]}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) },
    ...(payload ? { payload: JSON.stringify(payload) } : {}),
  });
  return { status: res.statusCode, body: res.json() as Record<string, any> };
}

test('a DBA grants a held command via the API → the proxy gets allow', async () => {
  const { command, approvalId } = await hold(identities['ci-deploy']!, 'orders-db');

  assert.equal((await call('GET', `/approvals/${approvalId}`)).status, 401);
  const listed = await call('GET', '/approvals?status=pending', 'alice');
  assert.equal(listed.status, 200);
  assert.ok(listed.body.approvals.some((a: { approvalId: string }) => a.approvalId === approvalId));

  const shown = await call('GET', `/approvals/${approvalId}`, 'carol');
  assert.equal(shown.body.status, 'pending');
  assert.equal(shown.body.commandText, "UPDATE orders SET status = 'shipped' WHERE id = 7");
  assert.equal(shown.body.requester.subject, 'ci-deploy');
  assert.deepEqual(shown.body.approverGroups, ['dba']);

  const bob = await call('POST', `/approvals/${approvalId}/grant`, 'bob', {});
  assert.equal(bob.status, 404, 'bob may not even see it');
  const carol = await call('POST', `/approvals/${approvalId}/grant`, 'carol', {});
  assert.equal(carol.status, 403, 'carol audits and approves, but not for dba');
  assert.equal(carol.body.code, 'PCL_ERR_FORBIDDEN');
  assert.equal(carol.body.details.reason, 'not_an_approver');

  const granted = await call('POST', `/approvals/${approvalId}/grant`, 'alice', { comment: 'looks right' });
  assert.equal(granted.status, 200);
  assert.equal(granted.body.status, 'granted');
  assert.deepEqual(granted.body.outcome.by, ['alice']);

  const verdict = await final(command);
  assert.equal(verdict.effect, 'allow');
  assert.equal(verdict.final, true);
  assert.match(verdict.reasons.join(' '), /approved by alice: looks right/);

  const again = await call('POST', `/approvals/${approvalId}/grant`, 'alice', { comment: 'looks right' });
  assert.equal(again.status, 200, 'repeating a decision is idempotent');
  assert.deepEqual(again.body, granted.body);
  const late = await call('POST', `/approvals/${approvalId}/deny`, 'dave', { comment: 'too late' });
  assert.equal(late.status, 409);
  assert.equal(late.body.code, 'PCL_ERR_CONFLICT');
  assert.match(late.body.message, /already granted/);
  assert.equal(late.body.details.status, 'granted');

  assert.equal((await call('GET', `/approvals/${newId()}`, 'alice')).status, 404);
  const pending = await call('GET', '/approvals?status=pending', 'alice');
  assert.ok(!pending.body.approvals.some((a: { approvalId: string }) => a.approvalId === approvalId));
  const docs = await service.app.inject({ method: 'GET', url: '/docs/json' });
  assert.ok(docs.json().paths['/approvals/{id}/grant'], 'OpenAPI lists the routes');
});

test('a denial blocks the command with the comment', async () => {
  const { command, approvalId } = await hold(identities['ci-deploy']!, 'orders-db', "DELETE FROM orders WHERE id = 9");
  const denied = await call('POST', `/approvals/${approvalId}/deny`, 'dave', { comment: 'not during the sale' });
  assert.equal(denied.status, 200);
  assert.equal(denied.body.status, 'denied');
  const verdict = await final(command);
  assert.equal(verdict.effect, 'block');
  assert.match(verdict.reasons.join(' '), /denied by dave: not during the sale/);
  assert.equal((await call('POST', `/approvals/${approvalId}/deny`, 'dave', { comment: 'not during the sale' })).status, 200);
});

test('quorum 2 needs two distinct approvers; the requester cannot approve', async () => {
  const { command, approvalId } = await hold(identities['alice']!, 'ledger-db', "UPDATE ledger SET amount = 0 WHERE id = 1");
  const self = await call('POST', `/approvals/${approvalId}/grant`, 'alice', {});
  assert.equal(self.status, 403);
  assert.equal(self.body.details.reason, 'self_approval');

  const first = await call('POST', `/approvals/${approvalId}/grant`, 'carol', { comment: 'ok' });
  assert.equal(first.status, 200);
  assert.equal(first.body.status, 'pending');
  assert.equal(first.body.votes.length, 1);
  const repeat = await call('POST', `/approvals/${approvalId}/grant`, 'carol', { comment: 'ok' });
  assert.equal(repeat.body.status, 'pending', 'one approver counts once');
  assert.equal(repeat.body.votes.length, 1);

  const second = await call('POST', `/approvals/${approvalId}/grant`, 'dave', {});
  assert.equal(second.body.status, 'granted');
  const verdict = await final(command);
  assert.equal(verdict.effect, 'allow');
  assert.match(verdict.reasons.join(' '), /approved by carol, dave/);
});

test('an approval nobody decides expires and the command is blocked', async () => {
  const { command, approvalId } = await hold(identities['ci-deploy']!, 'scratch-db');
  const verdict = await final(command);
  assert.equal(verdict.effect, 'block');
  assert.match(verdict.reasons.join(' '), /expired/);
  assert.equal(service.workflow.get(approvalId).status, 'expired');
  const late = await call('POST', `/approvals/${approvalId}/grant`, 'alice', {});
  assert.equal(late.status, 409);
  assert.equal(late.body.details.status, 'expired');
});

test('a restarted service keeps pending approvals and their expiry', async () => {
  const longLived = await hold(identities['ci-deploy']!, 'orders-db', "UPDATE orders SET note = 'x' WHERE id = 3");
  const shortLived = await hold(identities['ci-deploy']!, 'scratch-db');
  await service.stop();
  // Down past the short one's expiresAt: nothing can expire it meanwhile.
  const expiresAt = Date.parse((await (async () => shortLived)()).command.occurredAt) + 2000;
  await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 300));

  service = await startService();
  assert.equal(service.workflow.get(longLived.approvalId).status, 'pending');
  const expired = await final(shortLived.command);
  assert.equal(expired.effect, 'block');
  assert.match(expired.reasons.join(' '), /expired/);

  const granted = await call('POST', `/approvals/${longLived.approvalId}/grant`, 'dave', {});
  assert.equal(granted.body.status, 'granted');
  assert.equal((await final(longLived.command)).effect, 'allow');
});

test('webhooks: signed deliveries, retries for a failing receiver, a stuck one delays no other', async () => {
  const { approvalId } = await hold(identities['ci-deploy']!, 'orders-db', "UPDATE orders SET status = 'paid' WHERE id = 11");
  const started = Date.now();
  await call('POST', `/approvals/${approvalId}/grant`, 'alice', { comment: 'ship it' });

  const eventsFor = (name: keyof typeof received) =>
    received[name].map((r) => ({ r, event: JSON.parse(r.body) as ApprovalsTopicEvent })).filter(({ event }) => event.approvalId === approvalId);
  const good = await eventually('the good receiver to get all three events', () => {
    const got = eventsFor('good');
    return got.length >= 3 ? got : undefined;
  }, 20_000);
  assert.ok(Date.now() - started < 5000, `the stuck receiver did not delay the good one (${Date.now() - started} ms)`);
  assert.deepEqual(good.map(({ event }) => event.type), ['ApprovalRequested', 'ApprovalVoteRecorded', 'ApprovalGranted']);
  for (const { r, event } of good) {
    assert.equal(r.headers['idempotency-key'], event.eventId);
    assert.equal(r.headers['portcullis-event-type'], event.type);
    assert.deepEqual(verifySignature(secrets.good, r.body, String(r.headers['portcullis-signature'])).ok, true);
    assert.equal(verifySignature(secrets.flaky, r.body, String(r.headers['portcullis-signature'])).ok, false, 'each endpoint has its own secret');
    assert.ok(!r.body.includes(secrets.good));
  }

  // The flaky receiver answered 500 twice per event and got each on the third attempt.
  await eventually('the flaky receiver to get all three events', () => {
    const ok = new Set(eventsFor('flaky').map(({ event }) => event.eventId));
    return ok.size >= 3 && [...ok].every((id) => (flakyAttempts.get(id) ?? 0) >= 3) ? true : undefined;
  }, 20_000);

  const slack = await eventually('the Slack message', () => received.slack.find((r) => r.body.includes(approvalId) && r.body.includes('Approval needed')));
  const message = JSON.parse(slack.body) as { text: string; blocks: { type: string; elements?: { action_id?: string; url?: string }[] }[] };
  assert.match(slack.body, /UPDATE orders SET status = 'paid' WHERE id = 11/);
  assert.match(message.text, /ci-deploy/);
  const actions = message.blocks.find((b) => b.type === 'actions')!;
  assert.deepEqual(actions.elements!.map((e) => e.action_id), ['portcullis_grant', 'portcullis_deny']);
  assert.match(slack.body, new RegExp(`portcullis approvals grant ${approvalId}`));
  assert.ok(verifySignature(secrets.slack, slack.body, String(slack.headers['portcullis-signature'])).ok);

  // The stuck receiver is being tried (each event given up on after three timeouts), in its own queue.
  assert.ok(received.stuck.length >= 1);
  assert.ok(eventsFor('stuck').length < 3 * 3, 'the stuck receiver is still behind');
});

test('the CLI lists, shows and grants through the API', async () => {
  const { command, approvalId } = await hold(identities['ci-deploy']!, 'orders-db', "UPDATE orders SET status = 'cli' WHERE id = 5");
  const bin = fileURLToPath(new URL('../../cli/bin/portcullis.js', import.meta.url));
  const portcullis = (as: string, ...args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, 'approvals', ...args], { env: { ...process.env, PORTCULLIS_APPROVALS_URL: service.url!, PORTCULLIS_TOKEN: tokens[as]! } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });
  const list = await portcullis('alice', 'list');
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${approvalId}\\s+pending\\s+ci-deploy\\s+orders-db\\s+0/1`));
  const notMine = await portcullis('bob', 'list');
  assert.equal(notMine.status, 0, notMine.stderr);
  assert.ok(!notMine.stdout.includes(approvalId), 'bob is neither the requester, an approver nor an auditor');
  const auditor = await portcullis('carol', 'grant', approvalId);
  assert.equal(auditor.status, 1);
  assert.match(auditor.stderr, /PCL_ERR_FORBIDDEN: carol cannot approve/);
  const granted = await portcullis('dave', 'grant', approvalId, '-m', 'via the CLI');
  assert.equal(granted.status, 0, granted.stderr);
  assert.match(granted.stdout, /^status: {4}granted$/m);
  assert.match(granted.stdout, /^outcome: {3}granted by dave at .*: via the CLI$/m);
  assert.equal((await final(command)).effect, 'allow');
});

test('who sees an approval: the requester, its approver groups, auditors; to anyone else it does not exist', async () => {
  tokens['llm-agent'] ??= await issueServiceToken(ISSUER, 'llm-agent');
  tokens['auditor-bot'] ??= await issueServiceToken(ISSUER, 'auditor-bot');
  const { approvalId } = await hold(identities['ci-deploy']!, 'orders-db', "UPDATE orders SET status = 'visible' WHERE id = 21");
  const lists = async (as: string) => ((await call('GET', '/approvals', as)).body.approvals as { approvalId: string }[]).some((a) => a.approvalId === approvalId);
  for (const who of ['ci-deploy', 'alice', 'dave', 'carol', 'auditor-bot']) {
    assert.equal(await lists(who), true, `${who} lists it`);
    const shown = await call('GET', `/approvals/${approvalId}`, who);
    assert.equal(shown.status, 200, `${who} sees it`);
    assert.equal(shown.body.commandText, "UPDATE orders SET status = 'visible' WHERE id = 21");
  }
  const unknownId = newId();
  const unknown = await call('GET', `/approvals/${unknownId}`, 'bob');
  for (const who of ['bob', 'llm-agent']) {
    assert.equal(await lists(who), false, `${who} does not list it`);
    const shown = await call('GET', `/approvals/${approvalId}`, who);
    assert.equal(shown.status, 404, `${who} does not see it`);
    assert.deepEqual(shown.body, { ...unknown.body, message: unknown.body.message.replace(unknownId, approvalId) }, 'answered exactly as an unknown id');
    assert.ok(!JSON.stringify(shown.body).includes('visible'));
    for (const action of ['grant', 'deny']) {
      const decided = await call('POST', `/approvals/${approvalId}/${action}`, who, { comment: 'x' });
      assert.equal(decided.status, 404, `${who} cannot ${action} what they cannot see`);
    }
  }
  assert.equal(service.workflow.get(approvalId).status, 'pending');
  // The requester sees their own but still cannot approve it.
  const self = await call('POST', `/approvals/${approvalId}/grant`, 'ci-deploy', {});
  assert.equal(self.body.details.reason, 'self_approval');
});

test('authentication comes first: no or a bad token is 401 whatever the body', async () => {
  const { approvalId } = await hold(identities['ci-deploy']!, 'orders-db', "UPDATE orders SET status = 'auth' WHERE id = 22");
  const post = (headers: Record<string, string>, payload?: string) =>
    service.app.inject({ method: 'POST', url: `/approvals/${approvalId}/grant`, headers, ...(payload !== undefined ? { payload } : {}) });
  const cases: [string, Record<string, string>, string | undefined][] = [
    ['no token, no body', {}, undefined],
    ['no token, garbage JSON', { 'content-type': 'application/json' }, '{not json'],
    ['no token, wrong body type', { 'content-type': 'application/json' }, '{"comment": 42}'],
    ['no token, unknown content type', { 'content-type': 'text/x-garbage' }, '\u0000\u0001'],
    ['a bad token, garbage JSON', { authorization: `Bearer ${tokens.alice!.slice(0, -4)}AAAA`, 'content-type': 'application/json' }, '{not json'],
    ['not a bearer token', { authorization: 'Basic YWxpY2U6eA==', 'content-type': 'application/json' }, '[]'],
  ];
  for (const [what, headers, payload] of cases) {
    const res = await post(headers, payload);
    assert.equal(res.statusCode, 401, `${what}: ${res.body}`);
    assert.equal(res.json().code, 'PCL_ERR_UNAUTHENTICATED', what);
  }
  const badId = await service.app.inject({ method: 'GET', url: '/approvals/not-a-uuid' });
  assert.equal(badId.statusCode, 401, 'a malformed id without a token is also 401');
  // With a valid token the body is validated.
  const garbage = await post({ authorization: `Bearer ${tokens.alice}`, 'content-type': 'application/json' }, '{"comment": 42}');
  assert.equal(garbage.statusCode, 400);
  assert.equal(garbage.json().code, 'PCL_ERR_VALIDATION');
  assert.equal(service.workflow.get(approvalId).status, 'pending');
});

test('GET /approvals/events streams each new and decided approval as a server-sent event; no token, no stream', async () => {
  assert.equal((await fetch(`${service.url}/approvals/events`)).status, 401);
  const stream = new AbortController();
  const res = await fetch(`${service.url}/approvals/events`, { headers: { authorization: `Bearer ${tokens.alice}` }, signal: stream.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  let text = '';
  const reading = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) text += decoder.decode(chunk, { stream: true });
  })().catch(() => undefined);
  try {
    const { approvalId } = await hold(identities['ci-deploy']!, 'orders-db');
    await eventually('the pending event', () => text.includes(`data: {"approvalId":"${approvalId}","status":"pending"}`) || undefined, 10_000);
    assert.equal((await call('POST', `/approvals/${approvalId}/deny`, 'dave', { comment: 'not now' })).status, 200);
    await eventually('the denied event', () => text.includes(`data: {"approvalId":"${approvalId}","status":"denied"}`) || undefined, 10_000);
    assert.match(text, /^: connected\n\n/);
    assert.doesNotMatch(text, /UPDATE orders/, 'events carry ids and statuses, not the command');
  } finally {
    stream.abort();
    await reading;
  }
});
