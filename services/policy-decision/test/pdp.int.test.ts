import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newId, nowIso, SessionChain, type CommandRequested, type Identity, type VerdictIssued } from '@portcullis/schemas';
import { createCommandGate, createTestBus, eventually, silentLogger, type Bus } from '@portcullis/kit';
import { publishPolicy, startPolicyDecisionService } from '../src/index.ts';

const examplePolicy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const mainTs = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const ciJob: Identity = { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service', groups: ['ci'] };
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function sqlCommand(chain: SessionChain, sessionId: string, text: string, resource = 'orders-db', tags = ['production']): CommandRequested {
  return chain.next({
    type: 'CommandRequested' as const, eventId: newId(), occurredAt: nowIso(), sessionId, commandId: newId(),
    identity: ciJob, resource: { name: resource, kind: 'postgres' as const, tags }, protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text, phase: 'simple' as const },
  });
}

async function withBus(name: string): Promise<Bus> {
  const bus = createTestBus(name, { partitions: 3 });
  await bus.connect();
  cleanup.push(() => bus.disconnect());
  return bus;
}

test('published policy → commands → verdicts through the real broker and registry', async () => {
  const bus = await withBus('pdp');
  const published = await publishPolicy({ bus, yamlText: examplePolicy, fileName: 'automation-access.yaml' });
  assert.ok(published.ok);
  assert.equal(published.version, 1);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp`, knownResources: ['orders-db'] });
  cleanup.push(() => pdp.stop());
  assert.equal(pdp.state().version, 1);
  const gate = await createCommandGate({ bus, timeoutMs: 20_000 });
  cleanup.push(() => gate.close());

  const chain = new SessionChain();
  // Automation may read, and personal data is masked on the way out.
  const read = await gate.judge(sqlCommand(chain, 's-pdp', 'SELECT id, email FROM customers WHERE id = 7'));
  assert.equal(read.effect, 'mask');
  assert.deepEqual(read.ruleIds, ['pii-masked']);
  assert.ok(read.mask?.referenced.some((c) => c.column === 'email'));
  assert.equal(read.policyVersion, 1);

  const drop = await gate.judge(sqlCommand(chain, 's-pdp', 'DROP TABLE orders'));
  assert.equal(drop.effect, 'block');
  assert.ok(drop.ruleIds.includes('automation-no-destructive'));
  assert.ok(drop.reasons.some((r) => /destructive/.test(r)));

  const hidden = await gate.judge(sqlCommand(chain, 's-pdp', "SELECT 1; /* ; */ DELETE FROM orders"));
  assert.equal(hidden.effect, 'block', 'a second statement without WHERE is found and blocks the whole string');

  const unknown = await gate.judge(sqlCommand(chain, 's-pdp', 'SELECT 1', 'payroll-db'));
  assert.equal(unknown.effect, 'block');
  assert.match(unknown.reasons.join(' '), /payroll-db/);

  const garbage = await gate.judge(sqlCommand(chain, 's-pdp', 'SELEC * FROM'));
  assert.equal(garbage.effect, 'block');
  assert.match(garbage.reasons.join(' '), /unparseable/);

  // Writes to production are held for a DBA, and an approval is requested.
  const write = sqlCommand(chain, 's-pdp', "UPDATE orders SET status = 'shipped' WHERE id = 7");
  const held = await gate.judge(write);
  assert.equal(held.effect, 'hold');
  assert.equal(held.final, false);
  assert.ok(held.approvalId);
  // Granted, then (a second approvals instance racing) expired: the first outcome decides, once.
  const outcome = { eventId: newId(), occurredAt: nowIso(), sessionId: 's-pdp', approvalId: held.approvalId! };
  await bus.publish('approvals', { ...outcome, type: 'ApprovalGranted', approvers: ['alice'] });
  await bus.publish('approvals', { ...outcome, eventId: newId(), type: 'ApprovalExpired' });
  const final = await gate.awaitFinal(write.commandId, { timeoutMs: 20_000 });
  assert.equal(final.effect, 'mask', 'granted, and the PII mask rule still applies');
  assert.match(final.reasons[0]!, /approved by alice/);
  const finals = new Map<string, VerdictIssued>();
  const audit = await bus.subscribe({ groupId: 'finals', topics: ['verdicts'], fromBeginning: true, handler: async ({ event }) => {
    if (event.type === 'VerdictIssued' && event.commandId === write.commandId && event.final) finals.set(event.eventId, event);
  } });
  await audit.ready;
  await new Promise((r) => setTimeout(r, 3000));
  await audit.stop();
  assert.deepEqual([...finals.values()].map((v) => v.effect), ['mask'], 'exactly one final verdict');

  // A new version is followed without a restart; an invalid one is refused and the running version stays.
  const v2 = await publishPolicy({ bus, yamlText: examplePolicy.replace('automation never sees personal data', 'automation never sees personal data (v2)'), fileName: 'v2.yaml' });
  assert.ok(v2.ok);
  await eventually('PDP on version 2', () => pdp.state().version === 2 || undefined);
  const readV2 = await gate.judge(sqlCommand(chain, 's-pdp', 'SELECT 1'));
  assert.equal(readV2.policyVersion, 2);
  assert.ok(readV2.reasons.includes('automation never sees personal data (v2)'), readV2.reasons.join('; '));

  const invalid = await publishPolicy({ bus, yamlText: 'rules:\n  - id: x\n    effect: sometimes\n', fileName: 'bad.yaml' });
  assert.equal(invalid.ok, false);
  assert.ok(!invalid.ok && invalid.errors.some((e) => e.file === 'bad.yaml' && e.line === 3));
  // Even if an invalid document reaches the topic, the PDP keeps the running version.
  await bus.publish('policies', {
    type: 'PolicySetPublished', eventId: newId(), occurredAt: nowIso(), sessionId: 'x', policySetId: 'default', version: 3,
    document: 'rules: [ { id: broken } ]', documentDigest: 'f'.repeat(64),
  });
  await eventually('the refusal to be recorded', () => pdp.state().rejected?.version === 3 || undefined);
  assert.equal(pdp.state().version, 2);
});

test('a command that fails validation gets a block verdict, never silence', async () => {
  const bus = await withBus('pdp-invalid');
  await publishPolicy({ bus, yamlText: examplePolicy, fileName: 'p.yaml' });
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  cleanup.push(() => pdp.stop());
  const gate = await createCommandGate({ bus, timeoutMs: 20_000 });
  cleanup.push(() => gate.close());
  const commandId = newId();
  const waiting = gate.awaitFinal(commandId, { timeoutMs: 20_000 });
  // Encoded against another topic's schema: valid wire format, invalid CommandRequested.
  const producer = bus.kafka.producer();
  await producer.connect();
  const bogus = { type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: 's-bogus', commandId, effect: 'allow', ruleIds: [], reasons: [], policyVersion: 1, final: true, classes: [] };
  await producer.send({ topic: bus.names.of('commands'), messages: [{ key: 's-bogus', value: await bus.codec.encode('verdicts', bogus) }] });
  await producer.disconnect();
  const verdict = await waiting;
  assert.equal(verdict.effect, 'block');
  assert.match(verdict.reasons[0]!, /invalid command/);
});

test('killing the PDP (SIGKILL) during a stream of commands leaves exactly one verdict per command', async () => {
  const bus = await withBus('pdp-crash');
  await publishPolicy({ bus, yamlText: examplePolicy, fileName: 'p.yaml' });
  const env = { ...process.env, PORTCULLIS_TOPIC_NAMESPACE: bus.names.namespace, PORTCULLIS_PDP_TRANSACTIONAL_ID: `${bus.names.namespace}-pdp`, PORTCULLIS_LOG_LEVEL: 'error' };
  const startPdp = async (): Promise<ChildProcess> => {
    const child = fork(mainTs, [], { env, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`PDP exited with ${code} before it was ready`)));
    });
    return child;
  };
  let pdp = await startPdp();
  cleanup.push(async () => pdp.kill('SIGKILL'));

  const total = 300;
  const sent: string[] = [];
  const chains = [new SessionChain(), new SessionChain(), new SessionChain()];
  let killed = false;
  for (let i = 0; i < total; i++) {
    const c = sqlCommand(chains[i % 3]!, `crash-${i % 3}`, i % 5 === 0 ? 'DROP TABLE orders' : `SELECT ${i}`);
    sent.push(c.commandId);
    await bus.publish('commands', c);
    if (i === 120 && !killed) {
      killed = true;
      pdp.kill('SIGKILL');
      await new Promise((r) => pdp.once('exit', r));
      pdp = await startPdp();
    }
  }

  // Read every committed verdict from the start (read_committed: aborted transactions are invisible).
  // Keyed by the verdict's eventId: a redelivered message (at-least-once reading) is the same verdict.
  const verdicts = new Map<string, Map<string, VerdictIssued>>();
  const reader = await bus.subscribe({
    groupId: 'crash-audit', topics: ['verdicts'], fromBeginning: true,
    handler: async ({ event }) => void verdicts.set(event.commandId, (verdicts.get(event.commandId) ?? new Map()).set(event.eventId, event)),
  });
  cleanup.push(() => reader.stop());
  await eventually('a verdict for every command', () => sent.every((id) => verdicts.has(id)) || undefined, 60_000);
  await new Promise((r) => setTimeout(r, 1500)); // any duplicate would have arrived by now
  const duplicates = sent.filter((id) => verdicts.get(id)!.size !== 1);
  assert.deepEqual(duplicates, [], 'every command has exactly one verdict');
  assert.equal(verdicts.size, total);
  pdp.kill('SIGTERM');
});
