/**
 * What-if, given/when/then: given the commands and verdicts the log recorded
 * (the verdicts produced by the live policy), when a draft re-decides them,
 * then the report shows exactly the commands it would decide differently.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandRequested, VerdictIssued } from '@portcullis/schemas';
import { createWhatIf, type WhatIfFilter } from '../src/whatif/compare.ts';
import { failingTransitions, parseTransitionList, type WhatIfReport } from '../src/whatif/report.ts';
import { evaluate } from '../src/evaluate.ts';
import { emptySqlSession, type SqlSessionState } from '../src/analysis/sql.ts';
import type { PolicyState } from '../src/policy/state.ts';
import { command, givenPolicy, human, service, sql } from './given.ts';
import { allowAllMasked, readOnlyAutomation } from './policies.ts';

let n = 0;
const id = (): string => `01890000-0000-7000-8000-${String(++n).padStart(12, '0')}`;

/** A recorded history: each command with the verdict the live policy gave it, replayed per session like the PDP does. */
async function recorded(live: PolicyState, commands: CommandRequested[]): Promise<{ command: CommandRequested; verdict: VerdictIssued }[]> {
  const sessions = new Map<string, SqlSessionState>();
  const out: { command: CommandRequested; verdict: VerdictIssued }[] = [];
  for (const command of commands) {
    const { decision, session } = await evaluate(command, live, sessions.get(command.sessionId) ?? emptySqlSession());
    sessions.set(command.sessionId, session);
    out.push({
      command,
      verdict: {
        type: 'VerdictIssued',
        eventId: id(),
        occurredAt: command.occurredAt,
        sessionId: command.sessionId,
        commandId: command.commandId,
        effect: decision.effect,
        ruleIds: decision.ruleIds,
        reasons: decision.reasons,
        ...(decision.mask ? { mask: decision.mask } : {}),
        ...(decision.effect === 'hold' ? { approvalId: id(), final: false } : { final: true }),
        policyVersion: decision.policyVersion,
        classes: decision.classes,
      },
    });
  }
  return out;
}

const at = (text: string, over: Partial<CommandRequested> = {}): CommandRequested => sql(text, { commandId: id(), eventId: id(), ...over });

async function whatIf(draft: PolicyState, history: { command: CommandRequested; verdict: VerdictIssued }[], opts: { verdictsFirst?: boolean; filter?: WhatIfFilter; extraVerdicts?: VerdictIssued[]; uncached?: boolean; examples?: number } = {}): Promise<WhatIfReport> {
  const w = createWhatIf({
    draft,
    ...(opts.filter ? { filter: opts.filter } : {}),
    ...(opts.uncached ? { analysisCacheSize: 0, decisionCacheSize: 0 } : {}),
    ...(opts.examples ? { examplesPerTransition: opts.examples } : {}),
  });
  if (opts.verdictsFirst) for (const h of history) w.onVerdict(h.verdict);
  for (const h of history) {
    await w.onCommand(h.command);
    if (!opts.verdictsFirst) w.onVerdict(h.verdict);
  }
  for (const v of opts.extraVerdicts ?? []) w.onVerdict(v);
  return w.finish();
}

const blockDeletesToo = readOnlyAutomation.replace('classes: [unbounded-write, ddl,', 'classes: [unbounded-write, write, ddl,').replace(/ {2}- id: writes[\s\S]*?ttl: 10m }\n/, '');

describe('policy what-if', () => {
  const live = givenPolicy(readOnlyAutomation);

  it('given the live policy as the draft, then nothing changes', async () => {
    const history = await recorded(live, [at('SELECT 1'), at('DELETE FROM orders WHERE id = 1'), at('DROP TABLE orders'), at('SELECT email FROM customers')]);
    const report = await whatIf(live, history);
    assert.equal(report.compared, 4);
    assert.equal(report.unchanged, 4);
    assert.deepEqual(report.transitions, []);
  });

  it('given a draft that blocks writes, then the held write shows as hold->block with both sides explained', async () => {
    const history = await recorded(live, [at('SELECT 1'), at('DELETE FROM orders WHERE id = 1'), at('SELECT 2')]);
    const report = await whatIf(givenPolicy(blockDeletesToo), history);
    assert.deepEqual(report.transitions.map((t) => [t.transition, t.count, t.identities, t.resources]), [['hold->block', 1, ['ci-deploy'], ['orders-prod']]]);
    const example = report.transitions[0]!.examples[0]!;
    assert.equal(example.command, 'DELETE FROM orders WHERE id = 1');
    assert.ok(example.actual.ruleIds.includes('writes'), example.actual.ruleIds.join());
    assert.ok(example.draft.ruleIds.includes('destructive'), example.draft.ruleIds.join());
    assert.equal(report.unchanged, 2);
  });

  it('pairs a verdict read before its command (two topics read side by side)', async () => {
    const history = await recorded(live, [at('DELETE FROM orders WHERE id = 1')]);
    const report = await whatIf(givenPolicy(blockDeletesToo), history, { verdictsFirst: true });
    assert.deepEqual(report.transitions.map((t) => t.transition), ['hold->block']);
  });

  it("a held command's final verdict (after approval) is not the policy's answer and is ignored", async () => {
    const history = await recorded(live, [at('DELETE FROM orders WHERE id = 1')]);
    const held = history[0]!.verdict;
    const granted: VerdictIssued = { ...held, eventId: id(), effect: 'allow', final: true };
    const report = await whatIf(live, history, { extraVerdicts: [granted] });
    assert.equal(report.compared, 1);
    assert.equal(report.unchanged, 1);
    assert.equal(report.verdictsWithoutCommand, 0);
  });

  it('a column that would no longer be masked is a transition with the columns named', async () => {
    const masked = givenPolicy(allowAllMasked);
    const history = await recorded(masked, [at('SELECT name, email, card_number FROM customers')]);
    const draft = givenPolicy(allowAllMasked.replace('        - { column: customers.card_number, strategy: redact }\n', ''));
    const report = await whatIf(draft, history);
    assert.deepEqual(report.transitions.map((t) => t.transition), ['mask->mask']);
    assert.deepEqual(report.transitions[0]!.examples[0]!.maskChange, { noLongerMasked: ['customers.card_number (redact)'], newlyMasked: [] });
    const unmasked = await whatIf(givenPolicy('apiVersion: portcullis/v1\ndefaultEffect: allow\nrules: []\n'), history);
    assert.deepEqual(unmasked.transitions.map((t) => t.transition), ['mask->allow']);
  });

  it('names the identities that would lose all access', async () => {
    const history = await recorded(live, [at('SELECT 1'), at('SELECT 2', { identity: { ...service, subject: 'reporter' } })]);
    const draft = givenPolicy(readOnlyAutomation.replace('      identity: { kind: service }\n      sql: { classes: [read, transaction, prepare] }', '      identity: { subjects: [reporter] }\n      sql: { classes: [read, transaction, prepare] }'));
    const report = await whatIf(draft, history);
    assert.deepEqual(report.identitiesLosingAllAccess, ['ci-deploy']);
    assert.deepEqual(report.transitions.map((t) => [t.transition, t.count]), [['mask->block', 1]]);
  });

  it('replays each session in order: an EXECUTE depends on whether the draft let its PREPARE run', async () => {
    const session = { sessionId: 'prepared-session' };
    const history = await recorded(live, [at('PREPARE q AS SELECT 1', session), at('EXECUTE q', session)]);
    assert.deepEqual(history.map((h) => h.verdict.effect), ['mask', 'mask']);
    const noPrepare = givenPolicy(readOnlyAutomation.replace('classes: [read, transaction, prepare]', 'classes: [read, transaction]'));
    const report = await whatIf(noPrepare, history);
    // The PREPARE is now blocked, so under the draft `q` never exists and its EXECUTE is refused too.
    assert.deepEqual(report.transitions.map((t) => [t.transition, t.count]), [['mask->block', 2]]);
  });

  it('filters by identity, resource, protocol and time; verdicts of filtered commands are not left over', async () => {
    const history = await recorded(live, [
      at('DELETE FROM orders WHERE id = 1', { identity: human }),
      at('DELETE FROM orders WHERE id = 2', { occurredAt: '2024-01-01T00:00:00.000Z' }),
      at('DELETE FROM orders WHERE id = 3'),
    ]);
    const report = await whatIf(givenPolicy(blockDeletesToo), history, { filter: { identity: 'ci-deploy', since: '2025-01-01T00:00:00.000Z', protocol: 'postgres', resource: 'orders-prod' } });
    assert.equal(report.compared, 1);
    assert.equal(report.transitions[0]!.examples[0]!.command, 'DELETE FROM orders WHERE id = 3');
    assert.equal(report.verdictsWithoutCommand, 0);
    assert.equal(report.commandsRead, 3);
  });

  it('a command with no verdict in the log is counted as unjudged, not compared', async () => {
    const w = createWhatIf({ draft: live });
    await w.onCommand(at('SELECT 1'));
    const report = w.finish();
    assert.deepEqual([report.compared, report.unjudged], [0, 1]);
  });

  it('--fail-on patterns select transitions; bad patterns are refused with a clear error', async () => {
    const history = await recorded(live, [at('DELETE FROM orders WHERE id = 1')]);
    const report = await whatIf(givenPolicy(blockDeletesToo), history);
    const parsed = parseTransitionList('allow->block, hold→block');
    assert.ok(parsed.ok);
    assert.deepEqual(failingTransitions(report, parsed.patterns).map((t) => t.transition), ['hold->block']);
    const any = parseTransitionList('*->allow');
    assert.ok(any.ok);
    assert.deepEqual(failingTransitions(report, any.patterns), []);
    assert.deepEqual(parseTransitionList('allow->maybe'), { ok: false, error: '"allow->maybe" is not a transition: write FROM->TO with allow, mask, block, hold or *' });
  });

  it('reusing analyses and decisions across a history does not change the report, literals that matter included', async () => {
    // Literal-varying statements (the same decision), literals that change the class (WHERE 1 = 1 is unbounded),
    // statements that fall to the default (the reason quotes each one's own text), masks, prepared statements,
    // shell lines and Kubernetes requests, by two identities.
    const commands: CommandRequested[] = [];
    for (let i = 0; i < 40; i++) {
      const session = { sessionId: `s-${i % 3}` };
      const who = i % 4 === 0 ? { identity: { ...service, subject: 'reporter', groups: ['reports'] } } : {};
      commands.push(
        at(`SELECT email, card_number FROM customers WHERE id = ${i}`, { ...session, ...who }),
        at(`UPDATE orders SET status = 'shipped' WHERE ${i % 2} = 1`, session),
        at(`LISTEN channel_${i % 7}`, session),
        at(i % 5 === 0 ? `PREPARE q${i % 3} AS SELECT ${i}` : `EXECUTE q${i % 3}`, session),
        command({ kind: 'shell', commandLine: i % 2 ? 'uptime' : `rm -rf /tmp/x${i % 3}`, channel: 'exec' }, { commandId: id(), eventId: id(), ...session }),
        command({ kind: 'http', method: i % 3 ? 'GET' : 'DELETE', path: `/api/v1/namespaces/default/pods/web-${i % 4}`, query: '', headers: {}, bodySize: 0 }, { commandId: id(), eventId: id(), ...session }),
      );
    }
    const live = givenPolicy(allowAllMasked);
    const history = await recorded(live, commands);
    const draft = givenPolicy(readOnlyAutomation);
    const cached = await whatIf(draft, history, { examples: 1000 });
    const uncached = await whatIf(draft, history, { examples: 1000, uncached: true });
    assert.deepEqual(cached, uncached);
    const quoted = cached.transitions.flatMap((t) => t.examples).filter((e) => e.command.startsWith('LISTEN'));
    assert.ok(quoted.length > 7, 'every LISTEN is an example');
    for (const e of quoted) assert.deepEqual(e.draft.reasons, [`no rule allows "${e.command}"; the default is block`]);
    const updates = cached.transitions.flatMap((t) => t.examples).filter((e) => e.command.startsWith('UPDATE'));
    assert.deepEqual(new Set(updates.map((e) => `${e.command} ${e.draft.effect}`)), new Set(["UPDATE orders SET status = 'shipped' WHERE 1 = 1 block", "UPDATE orders SET status = 'shipped' WHERE 0 = 1 hold"]));
  });
});
