import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newId, nowIso, type CommandRequested, type VerdictIssued } from '@portcullis/schemas';
import { judgeCommand, type CommandGate } from '../src/index.ts';

const command: CommandRequested = {
  type: 'CommandRequested', eventId: newId(), occurredAt: nowIso(), sessionId: 's-1', seq: 1, digest: '0'.repeat(64), commandId: newId(),
  identity: { subject: 'ci', issuer: 'http://127.0.0.1:9400', kind: 'service', groups: [] },
  resource: { name: 'web-1', kind: 'ssh', tags: [] }, protocol: 'ssh', command: { kind: 'shell', commandLine: 'touch x', channel: 'exec' },
};
const verdict = (effect: VerdictIssued['effect'], extra: Partial<VerdictIssued> = {}): VerdictIssued => ({
  type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: 's-1', commandId: command.commandId, effect,
  ruleIds: ['r1'], reasons: ['because'], policyVersion: 3, final: effect !== 'hold', classes: [], ...extra,
});

/** A gate whose answers the test scripts; records withdrawn approvals. */
function scriptedGate(first: () => Promise<VerdictIssued>, final: (signal?: AbortSignal) => Promise<VerdictIssued> = () => new Promise(() => undefined)) {
  const withdrawn: { approvalId: string; reason: string }[] = [];
  const gate: CommandGate = {
    judge: () => first(),
    awaitFinal: (_id, o) => final(o.signal),
    cancelHold: async (h) => void withdrawn.push({ approvalId: h.approvalId, reason: h.reason }),
  };
  return { gate, withdrawn };
}

test('given an allow verdict, when judged, then the command runs with it', async () => {
  const { gate } = scriptedGate(async () => verdict('allow'));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 100 });
  assert.ok(outcome.run);
  assert.equal(outcome.verdict.effect, 'allow');
});

test('given a block verdict, when judged, then it is refused with PCL_ERR_BLOCKED and the verdict', async () => {
  const { gate } = scriptedGate(async () => verdict('block'));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 100 });
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_BLOCKED');
  assert.equal(outcome.refusal.detail, 'rule r1: because');
});

test('given a gate that never answers, when judged, then the backstop refuses it (fail closed)', async () => {
  const { gate } = scriptedGate(() => new Promise(() => undefined));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 20, holdTimeoutMs: 100 });
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_NO_VERDICT');
  assert.match(outcome.refusal.detail, /no verdict within 20 ms/);
});

test('given a gate that rejects, when judged, then the refusal says why', async () => {
  const { gate } = scriptedGate(async () => Promise.reject(new Error('the command could not be recorded, so it was not run: broker down')));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 100 });
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_NO_VERDICT');
  assert.match(outcome.refusal.detail, /broker down/);
});

test('given a hold that is granted, when judged, then the caller is told and the command runs with the final verdict', async () => {
  const approvalId = newId();
  const { gate, withdrawn } = scriptedGate(async () => verdict('hold', { approvalId }), async () => verdict('allow', { approvalId, final: true }));
  const told: string[] = [];
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 100, onHold: (v) => told.push(v.approvalId!) });
  assert.ok(outcome.run);
  assert.equal(outcome.approvalId, approvalId);
  assert.deepEqual(told, [approvalId]);
  assert.deepEqual(withdrawn, []);
});

test('given a hold, when the caller goes away while waiting, then the approval is withdrawn and the command is cancelled', async () => {
  const approvalId = newId();
  const { gate, withdrawn } = scriptedGate(async () => verdict('hold', { approvalId }));
  const gone = new AbortController();
  const pending = judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 10_000, signal: gone.signal, onHold: () => setImmediate(() => gone.abort()) });
  const outcome = await pending;
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_CANCELLED');
  assert.deepEqual(withdrawn, [{ approvalId, reason: 'the client disconnected or cancelled while waiting' }]);
});

test('given a hold nobody decides, when the hold times out, then the approval is withdrawn and the command refused', async () => {
  const approvalId = newId();
  const { gate, withdrawn } = scriptedGate(async () => verdict('hold', { approvalId }));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 20 });
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_HOLD_UNRESOLVED');
  assert.equal(withdrawn.length, 1);
});

test('given a hold that is denied, when judged, then it is refused with PCL_ERR_APPROVAL_DENIED', async () => {
  const approvalId = newId();
  const { gate } = scriptedGate(async () => verdict('hold', { approvalId }), async () => verdict('block', { approvalId, reasons: ['denied by bob'] }));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 100 });
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_APPROVAL_DENIED');
  assert.equal(outcome.refusal.approvalId, approvalId);
});

test('given hold: return, when held, then it is refused with PCL_ERR_HELD without waiting', async () => {
  const approvalId = newId();
  let waited = false;
  const { gate } = scriptedGate(async () => verdict('hold', { approvalId }), async () => ((waited = true), verdict('allow')));
  const outcome = await judgeCommand(gate, command, { timeoutMs: 100, holdTimeoutMs: 100, hold: 'return' });
  assert.ok(!outcome.run);
  assert.equal(outcome.refusal.code, 'PCL_ERR_HELD');
  assert.equal(waited, false);
});
