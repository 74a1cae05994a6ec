/**
 * Deciding at the edge, against the real broker and registry: the edge gate
 * decides with the published policy and resolves only with its command and
 * verdict in the log; a hold's final verdict comes from the PDP; the PDP
 * verifies edge verdicts and disputes those of a doctored proxy.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newId, nowIso, SessionChain, type CommandRequested, type EventOf, type Identity } from '@portcullis/schemas';
import { createTestBus, eventually, silentLogger, type Bus } from '@portcullis/kit';
import { createEdgeGate, policyStateFromDocument, publishPolicy, startPolicyDecisionService } from '../src/index.ts';

const examplePolicy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const ciJob: Identity = { subject: 'ci-deploy', issuer: 'http://127.0.0.1:9400', kind: 'service', groups: ['ci'] };
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

function sqlCommand(chain: SessionChain, sessionId: string, text: string): CommandRequested {
  return chain.next({
    type: 'CommandRequested' as const, eventId: newId(), occurredAt: nowIso(), sessionId, commandId: newId(),
    identity: ciJob, resource: { name: 'orders-db', kind: 'postgres' as const, tags: ['production'] }, protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text, phase: 'simple' as const }, decision: 'edge' as const,
  });
}

async function withBus(name: string): Promise<Bus> {
  const bus = createTestBus(name, { partitions: 3 });
  await bus.connect();
  cleanup.push(() => bus.disconnect());
  return bus;
}

/** Everything on the commands and verdicts topics, as a reader sees it. */
async function readLog(bus: Bus): Promise<{ commands: EventOf<'commands'>[]; verdicts: EventOf<'verdicts'>[] }> {
  const log = { commands: [] as EventOf<'commands'>[], verdicts: [] as EventOf<'verdicts'>[] };
  const sub = await bus.subscribe({
    groupId: `reader-${newId()}`, topics: ['commands', 'verdicts'], fromBeginning: true,
    handler: async ({ topicKey, event }) => void (topicKey === 'commands' ? log.commands.push(event as EventOf<'commands'>) : log.verdicts.push(event as EventOf<'verdicts'>)),
  });
  cleanup.push(() => sub.stop());
  await sub.ready;
  return log;
}

test('the edge gate decides with the published policy; command and verdict are in the log when it resolves; a hold is finalised by the PDP', async () => {
  const bus = await withBus('edge');
  assert.ok((await publishPolicy({ bus, yamlText: examplePolicy, fileName: 'automation-access.yaml' })).ok);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  cleanup.push(() => pdp.stop());
  const gate = await createEdgeGate({ bus, logger: silentLogger(), instance: 'test-proxy-1' });
  cleanup.push(() => gate.close());
  assert.equal(gate.currentPolicyVersion?.(), 1);
  const log = await readLog(bus);
  const chain = new SessionChain();

  const read = sqlCommand(chain, 's-edge', 'SELECT id, email FROM customers WHERE id = 7');
  const verdict = await gate.judge(read);
  assert.equal(verdict.effect, 'mask');
  assert.deepEqual(verdict.ruleIds, ['pii-masked']);
  assert.equal(verdict.decidedBy, 'edge:test-proxy-1');
  assert.equal(verdict.policyVersion, 1);
  const drop = await gate.judge(sqlCommand(chain, 's-edge', 'DROP TABLE orders'));
  assert.equal(drop.effect, 'block');
  await eventually('both commands and both verdicts in the log', () =>
    log.commands.length === 2 && log.verdicts.filter((v) => v.type === 'VerdictIssued').length === 2 ? true : undefined);
  assert.deepEqual(log.commands.map((c) => c.commandId), [read.commandId, drop.commandId]);
  assert.ok(log.commands.every((c) => c.decision === 'edge'));

  // A write is held: the proxy issues the hold and the approval request; the grant's final verdict comes from the PDP.
  const write = sqlCommand(chain, 's-edge', 'UPDATE orders SET status = 1 WHERE id = 3');
  const held = await gate.judge(write);
  assert.equal(held.effect, 'hold');
  assert.equal(held.final, false);
  const final = gate.awaitFinal(write.commandId, { timeoutMs: 30_000 });
  await bus.publish('approvals', { type: 'ApprovalGranted', eventId: newId(), occurredAt: nowIso(), sessionId: 'approvals', approvalId: held.approvalId!, approvers: ['dba-bob'] });
  const granted = await final;
  assert.notEqual(granted.effect, 'block');
  assert.equal(granted.final, true);
  assert.match(granted.reasons[0]!, /approved by dba-bob/);
  assert.match(granted.decidedBy ?? '', /^pdp:/, 'exactly one place turns an approval outcome into a final verdict: the PDP');

  // The verifier agrees with an honest proxy: no dispute.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(log.verdicts.filter((v) => v.type === 'VerdictDisputed'), []);
});

test('fails closed: a command that cannot be recorded is refused with the reason, and nothing is decided as run', async () => {
  const bus = await withBus('edge-fail');
  assert.ok((await publishPolicy({ bus, yamlText: examplePolicy, fileName: 'automation-access.yaml' })).ok);
  const gate = await createEdgeGate({ bus, logger: silentLogger(), instance: 'test-proxy-2', timeoutMs: 2000 });
  cleanup.push(() => gate.close());
  const invalid = { ...sqlCommand(new SessionChain(), 's-fail', 'SELECT 1'), digest: 'not-a-digest' };
  await assert.rejects(gate.judge(invalid), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'PCL_ERR_PUBLISH_FAILED');
    assert.match(err.message, /the command could not be recorded, so it was not run: .*digest/);
    return true;
  });
});

test('the PDP disputes the verdicts of a proxy run with a doctored policy', async () => {
  const bus = await withBus('edge-dispute');
  assert.ok((await publishPolicy({ bus, yamlText: examplePolicy, fileName: 'automation-access.yaml' })).ok);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  cleanup.push(() => pdp.stop());
  // Same version number as the published policy, but everything allowed: a tampered proxy.
  const doctored = policyStateFromDocument('apiVersion: portcullis/v1\ndefaultEffect: allow\nrules: []\n', 'doctored.yaml', 1);
  assert.ok(doctored.ok);
  const gate = await createEdgeGate({ bus, logger: silentLogger(), instance: 'doctored-proxy', policyOverride: doctored.state });
  cleanup.push(() => gate.close());
  const log = await readLog(bus);
  const chain = new SessionChain();
  const drop = sqlCommand(chain, 's-doctored', 'DROP TABLE orders');
  const verdict = await gate.judge(drop);
  assert.equal(verdict.effect, 'allow', 'the doctored proxy lets it through');
  const dispute = await eventually('a dispute of the doctored verdict', () =>
    log.verdicts.find((v) => v.type === 'VerdictDisputed' && v.commandId === drop.commandId), 30_000);
  assert.equal(dispute.type, 'VerdictDisputed');
  if (dispute.type !== 'VerdictDisputed') return;
  assert.equal(dispute.decidedBy, 'edge:doctored-proxy');
  assert.equal(dispute.verdictEventId, verdict.eventId);
  assert.equal(dispute.policyVersion, 1);
  assert.deepEqual(dispute.issued, { effect: 'allow', ruleIds: [] });
  assert.equal(dispute.expected?.effect, 'block');
  assert.ok(dispute.expected?.ruleIds.includes('automation-no-destructive'));
  assert.match(dispute.reason, /under policy version 1 the verifier decides block/);

  // A version that was never published is disputed too.
  const future = policyStateFromDocument(examplePolicy, 'future.yaml', 7);
  assert.ok(future.ok);
  const ahead = await createEdgeGate({ bus, logger: silentLogger(), instance: 'future-proxy', policyOverride: future.state });
  cleanup.push(() => ahead.close());
  const select = sqlCommand(new SessionChain(), 's-future', 'SELECT id FROM orders WHERE id = 1');
  await ahead.judge(select);
  const unknown = await eventually('a dispute of the unknown version', () =>
    log.verdicts.find((v) => v.type === 'VerdictDisputed' && v.commandId === select.commandId), 30_000);
  assert.match((unknown as { reason: string }).reason, /names policy version 7, which was never published/);
});
