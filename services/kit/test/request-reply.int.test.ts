import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { newId, nowIso, SessionChain, type CommandRequested, type VerdictIssued } from '@portcullis/schemas';
import { createCommandGate, createTestBus, PortcullisError, type Bus } from '../src/index.ts';

const buses: Bus[] = [];
after(async () => {
  await Promise.all(buses.map((b) => b.disconnect()));
});

function command(chain: SessionChain, text: string): CommandRequested {
  return chain.next({
    type: 'CommandRequested' as const, eventId: newId(), occurredAt: nowIso(), sessionId: 'sess-rr', commandId: newId(),
    identity: { subject: 'llm-agent', issuer: 'http://127.0.0.1:9400', kind: 'service' as const, groups: ['agents'] },
    resource: { name: 'orders-db', kind: 'postgres' as const, tags: [] },
    protocol: 'postgres' as const,
    command: { kind: 'sql' as const, text, phase: 'simple' as const },
  });
}

const verdictFor = (c: CommandRequested, effect: VerdictIssued['effect'], final = true): VerdictIssued => ({
  type: 'VerdictIssued', eventId: newId(), occurredAt: nowIso(), sessionId: c.sessionId, commandId: c.commandId, effect,
  ruleIds: ['r1'], reasons: [`${effect} by test responder`], policyVersion: 1, final, classes: [],
});

test('judge publishes the command and resolves with the verdict carrying its commandId; holds resolve to a final verdict', async () => {
  const bus = createTestBus('gate');
  buses.push(bus);
  await bus.connect();
  // A responder standing in for the PDP: answers each command on the verdicts topic.
  const responder = await bus.subscribe({
    groupId: 'responder', topics: ['commands'], fromBeginning: true,
    handler: async ({ event }) => {
      const text = event.command.kind === 'sql' ? event.command.text : '';
      if (text.startsWith('DELETE')) {
        await bus.publish('verdicts', verdictFor(event, 'hold', false));
        setTimeout(() => void bus.publish('verdicts', verdictFor(event, 'allow', true)), 300);
      } else if (text !== 'silence') {
        await bus.publish('verdicts', verdictFor(event, text.startsWith('DROP') ? 'block' : 'allow'));
      }
    },
  });
  await responder.ready;
  const gate = await createCommandGate({ bus, timeoutMs: 10_000 });
  try {
    const chain = new SessionChain();
    const select = command(chain, 'SELECT 1');
    const drop = command(chain, 'DROP TABLE t');
    const [v1, v2] = await Promise.all([gate.judge(select), gate.judge(drop)]);
    assert.equal(v1.commandId, select.commandId);
    assert.equal(v1.effect, 'allow');
    assert.equal(v2.commandId, drop.commandId);
    assert.equal(v2.effect, 'block');

    const del = command(chain, 'DELETE FROM t WHERE id = 1');
    const held = await gate.judge(del);
    assert.equal(held.effect, 'hold');
    assert.equal(held.final, false);
    const final = await gate.awaitFinal(del.commandId, { timeoutMs: 10_000 });
    assert.equal(final.effect, 'allow');
    assert.equal(final.final, true);

    // Nobody answers: the caller gets a clear, retriable timeout instead of hanging.
    const started = Date.now();
    await assert.rejects(gate.judge(command(chain, 'silence'), { timeoutMs: 800 }), (err: unknown) => {
      assert.ok(err instanceof PortcullisError);
      assert.equal(err.code, 'PCL_ERR_VERDICT_TIMEOUT');
      assert.match(err.message, /no verdict within 800 ms; the command was not run/);
      return true;
    });
    assert.ok(Date.now() - started >= 750);
  } finally {
    await gate.close();
  }
});

test('a verdict that lands before anyone waits for it is still delivered', async () => {
  const bus = createTestBus('gate-race');
  buses.push(bus);
  await bus.connect();
  const chain = new SessionChain();
  const c = command(chain, 'SELECT 42');
  const gate = await createCommandGate({ bus, timeoutMs: 10_000 });
  try {
    // The verdict lands before anyone asks (a final verdict right after a hold); awaitFinal still finds it.
    await bus.publish('verdicts', verdictFor(c, 'allow'));
    const v = await gate.awaitFinal(c.commandId, { timeoutMs: 10_000 });
    assert.equal(v.commandId, c.commandId);
  } finally {
    await gate.close();
  }
});
