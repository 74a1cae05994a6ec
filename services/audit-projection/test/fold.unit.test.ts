/**
 * The audit view's pure functions, given events → rows: the evolve functions
 * of each table and foldAuditBatch, which also continues the hash chains.
 * The "database" here is a Map that keeps what a batch leaves behind.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ProjectedEvent } from '@portcullis/kit';
import { newId, type ApprovalsTopicEvent, type ChainedEvent, type EventOf, type TopicKey } from '@portcullis/schemas';
import { compareInstants, evolveApproval, evolveCommand, evolveIdentity, evolveSession } from '../src/audit/evolve.ts';
import { foldAuditBatch, touchedKeys, type AuditRows } from '../src/audit/fold.ts';
import type { ApprovalRow } from '../src/audit/rows.ts';
import { alice, ciJob, CraftedSession, tick } from './crafted.ts';
import { topicOf } from './publish.ts';

const projected = (events: { type: string }[], offsets?: string[]): ProjectedEvent[] =>
  events.map((event, i) => ({ topicKey: topicOf(event.type), event: event as EventOf<TopicKey>, partition: 0, offset: offsets?.[i] ?? String(i) }));

/** What the tables hold between batches, in memory: rows plus the chain's pending events and links. */
class MemoryView {
  rows: AuditRows = { sessions: new Map(), commands: new Map(), approvals: new Map(), identities: new Map() };
  pending = new Map<string, ChainedEvent[]>();
  links = new Map<string, string>();

  apply(batch: ProjectedEvent[]): void {
    const keys = touchedKeys(batch);
    const pick = <V>(m: Map<string, V>, ks: string[]) => new Map(ks.filter((k) => m.has(k)).map((k) => [k, m.get(k)!] as const));
    const conflicts = new Map<string, { seq: number; eventId: string }>();
    for (const { event } of batch) {
      if (!('digest' in event)) continue;
      const stored = this.links.get(`${event.sessionId}/${event.seq}`);
      if (stored !== undefined && stored !== event.digest && !conflicts.has(event.sessionId)) conflicts.set(event.sessionId, { seq: event.seq, eventId: event.eventId });
    }
    const folded = foldAuditBatch({
      sessions: pick(this.rows.sessions, keys.sessions), commands: pick(this.rows.commands, keys.commands),
      approvals: pick(this.rows.approvals, keys.approvals), identities: this.rows.identities,
    }, batch, { pending: pick(this.pending, keys.chainedSessions), conflicts });
    for (const [k, v] of folded.sessions) this.rows.sessions.set(k, v);
    for (const [k, v] of folded.commands) this.rows.commands.set(k, v);
    for (const [k, v] of folded.approvals) this.rows.approvals.set(k, v);
    for (const [k, v] of folded.identities) this.rows.identities.set(k, v);
    for (const l of folded.links) if (!this.links.has(`${l.session_id}/${l.seq}`)) this.links.set(`${l.session_id}/${l.seq}`, l.digest);
    for (const [sessionId, upTo] of folded.pendingProvenUpTo) {
      this.pending.set(sessionId, (this.pending.get(sessionId) ?? []).filter((e) => e.seq > upTo));
    }
    for (const p of folded.pendingAdded) {
      const list = this.pending.get(p.session_id) ?? [];
      if (!list.some((e) => e.seq === p.seq)) list.push(JSON.parse(p.body) as ChainedEvent);
      this.pending.set(p.session_id, list);
    }
    for (const [k, v] of this.pending) if (v.length === 0) this.pending.delete(k);
  }
}

function aSession() {
  const s = new CraftedSession();
  const read = s.command('SELECT id, email FROM customers WHERE id = $1', { phase: 'bind', parameters: ['7'] });
  const drop = s.command('DROP TABLE orders');
  const events = [
    s.opened(), read, s.verdict(read, 'mask', ['pii-masked'], ['automation never sees personal data']),
    s.output(read, ['id', 'email'], [['7', 'c***@example.test']]), s.completed(read, 'executed', { rows: 1, tag: 'SELECT 1' }),
    drop, s.verdict(drop, 'block', ['automation-no-destructive'], ['destructive'], ['ddl']), s.completed(drop, 'refused'), s.closed(),
  ];
  return { s, read, drop, events };
}

describe('evolve functions: given events, then rows', () => {
  it('instants compare as time: as text in one UTC layout, parsed across layouts and offsets', () => {
    assert.ok(compareInstants('2025-01-01T10:00:00.000Z', '2025-01-01T10:00:01.000Z') < 0);
    assert.equal(compareInstants('2025-01-01T10:00:00.000Z', '2025-01-01T10:00:00.000Z'), 0);
    assert.ok(compareInstants('2025-01-01T10:00:00.5Z', '2025-01-01T10:00:00.25Z') > 0, 'different precision: parsed');
    assert.ok(compareInstants('2025-01-01T11:00:00.000+02:00', '2025-01-01T10:00:00.000Z') < 0, 'an offset: parsed');
    assert.equal(compareInstants('2025-01-01 10:00:00+00', '2025-01-01T10:00:00.000Z'), 0, 'as PostgreSQL writes it');
  });

  it('a command row takes its text from the request, the winning verdict and the outcome, in any order', () => {
    const { s, read, events } = aSession();
    const mine = events.filter((e) => 'commandId' in e && e.commandId === read.commandId && e.type !== 'OutputRecorded') as Parameters<typeof evolveCommand>[1][];
    const forward = mine.reduce((row, e) => evolveCommand(row, e), undefined as ReturnType<typeof evolveCommand> | undefined)!;
    const backward = [...mine].reverse().reduce((row, e) => evolveCommand(row, e), undefined as ReturnType<typeof evolveCommand> | undefined)!;
    assert.deepEqual(forward, backward);
    assert.equal(forward.text, 'SELECT id, email FROM customers WHERE id = $1');
    assert.deepEqual([forward.effect, forward.rule_ids, forward.status, forward.row_count, forward.phase, forward.parameters], ['mask', ['pii-masked'], 'executed', 1, 'bind', ['7']]);
    assert.equal(forward.session_id, s.sessionId);
  });

  it('a command row keeps the trace id its request carries, and none when it carries none', () => {
    const s = new CraftedSession();
    const traced = { ...s.command('SELECT 1'), traceId: '4bf92f3577b34da6a3ce929d0e0e4736' };
    assert.equal(evolveCommand(undefined, traced).trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
    assert.equal(evolveCommand(undefined, s.command('SELECT 2')).trace_id, null);
  });

  it('a final verdict beats the provisional hold whatever the order, and the command stays marked held', () => {
    const s = new CraftedSession();
    const cmd = s.command("UPDATE orders SET status = 'x'");
    const hold = s.verdict(cmd, 'hold', ['dba'], ['needs a DBA'], ['write'], false);
    const allow = s.verdict(cmd, 'allow', ['dba'], ['approved by alice'], ['write']);
    for (const order of [[cmd, hold, allow], [allow, cmd, hold], [hold, allow, cmd]]) {
      const row = order.reduce((r, e) => evolveCommand(r, e), undefined as ReturnType<typeof evolveCommand> | undefined)!;
      assert.deepEqual([row.effect, row.verdict_final, row.held, row.reasons], ['allow', true, true, ['approved by alice']]);
    }
  });

  it('a disputed verdict flags the command and its session in any order; the earliest dispute is shown; twice changes nothing', () => {
    const s = new CraftedSession();
    const cmd = s.command('DROP TABLE orders');
    const allow = { ...s.verdict(cmd, 'allow', [], ['default allow'], ['ddl']), decidedBy: 'edge:doctored-proxy' };
    const first = s.disputed(allow, 'block', 'under policy version 1 the verifier decides block');
    const second = s.disputed(allow, undefined, 'stale policy');
    const events = [cmd, allow, first, second];
    for (const order of [events, [...events].reverse(), [second, cmd, first, allow, first, second]]) {
      const row = order.reduce((r, e) => evolveCommand(r, e), undefined as ReturnType<typeof evolveCommand> | undefined)!;
      assert.deepEqual(
        [row.effect, row.dispute_event_id, row.dispute_reason, row.dispute_expected_effect, row.disputed_decided_by, row.dispute_verified_by],
        ['allow', first.eventId, 'under policy version 1 the verifier decides block', 'block', 'edge:doctored-proxy', 'pdp:verifier-1']);
    }
    const undisputed = [cmd, allow].reduce((r, e) => evolveCommand(r, e), undefined as ReturnType<typeof evolveCommand> | undefined)!;
    assert.equal(undisputed.dispute_event_id, null);

    const view = new MemoryView();
    view.apply(projected([s.opened(), cmd, allow]));
    assert.equal(view.rows.sessions.get(s.sessionId)!.disputed, false);
    view.apply(projected([first]));
    assert.equal(view.rows.sessions.get(s.sessionId)!.disputed, true);
    assert.equal(view.rows.commands.get(cmd.commandId)!.dispute_event_id, first.eventId);
    assert.deepEqual(touchedKeys(projected([first])).commands, [cmd.commandId]);
  });

  it('a session row: who and where from SessionOpened (or the first command), times, close, last seq', () => {
    const { s, events } = aSession();
    const row = events.filter((e) => e.type !== 'VerdictIssued').reduce((r, e) => evolveSession(r, e as Parameters<typeof evolveSession>[1]), undefined as ReturnType<typeof evolveSession> | undefined)!;
    assert.deepEqual([row.identity_subject, row.resource, row.protocol, row.application_name, row.last_seq, row.close_reason], ['ci-deploy', 'orders-db', 'postgres', 'psql', 7, 'client disconnected']);
    assert.equal(row.session_id, s.sessionId);
    assert.ok(row.started_at! <= row.closed_at!);
  });

  it('an identity row keeps the first and last sighting and the profile of the latest', () => {
    const t1 = tick();
    const t2 = tick();
    const renamed = { ...alice, name: 'Alice B.', groups: ['dba', 'auditors'] };
    const later = evolveIdentity(evolveIdentity(undefined, alice, t1, 'e1'), renamed, t2, 'e2');
    const earlierSeenLast = evolveIdentity(evolveIdentity(undefined, renamed, t2, 'e2'), alice, t1, 'e1');
    assert.deepEqual(later, earlierSeenLast);
    assert.deepEqual([later.first_seen, later.last_seen, later.name, later.groups], [t1, t2, 'Alice B.', ['dba', 'auditors']]);
  });
});

describe('approval outcome: the first in log order decides, as for the approvals service and the PDP', () => {
  const approvalId = newId();
  const sessionId = 's-approval';
  const at = (s: string) => `2025-01-01T10:${s}.000Z`;
  const requested: ApprovalsTopicEvent = {
    type: 'ApprovalRequested', eventId: newId(), occurredAt: at('00:00'), sessionId, approvalId, commandId: newId(), identity: ciJob,
    resource: { name: 'orders-db', kind: 'postgres', tags: [] }, commandText: "UPDATE orders SET status = 'x'", ruleId: 'dba', approverGroups: ['dba'],
    quorum: 1, expiresAt: at('05:00'), policyVersion: 1,
  };
  const granted: ApprovalsTopicEvent = { type: 'ApprovalGranted', eventId: newId(), occurredAt: at('01:00'), sessionId, approvalId, approvers: ['alice'], comment: 'go' };
  // A second approvals instance expired it a little later (its clock ran ahead): in the log after the grant.
  const expired: ApprovalsTopicEvent = { type: 'ApprovalExpired', eventId: newId(), occurredAt: at('05:00'), sessionId, approvalId };
  const fold = (events: [ApprovalsTopicEvent, string][]): ApprovalRow =>
    events.reduce((row, [e, offset]) => evolveApproval(row, e, offset), undefined as ApprovalRow | undefined)!;

  it('given Requested, Granted, then Expired with a later time: the audit says granted, by alice', () => {
    const row = fold([[requested, '0'], [granted, '1'], [expired, '2']]);
    assert.deepEqual([row.status, row.decided_by, row.comment, row.status_event_id, row.status_offset], ['granted', ['alice'], 'go', granted.eventId, '1']);
  });

  it('the same events met again out of order (a seek back) give the same row', () => {
    assert.deepEqual(fold([[requested, '0'], [expired, '2'], [granted, '1'], [expired, '2']]), fold([[requested, '0'], [granted, '1'], [expired, '2']]));
  });

  it('given Expired first: expired, and a later grant changes nothing', () => {
    assert.equal(fold([[requested, '0'], [expired, '1'], [granted, '2']]).status, 'expired');
  });
});

describe('foldAuditBatch: the whole batch, hash chains continued in memory', () => {
  it('a complete session in one batch is proven in memory: ok, nothing left pending', () => {
    const { s, events } = aSession();
    const view = new MemoryView();
    view.apply(projected(events));
    const row = view.rows.sessions.get(s.sessionId)!;
    assert.deepEqual([row.integrity, row.verified_seq, row.last_seq], ['ok', 7, 7]);
    assert.equal(view.pending.size, 0);
    assert.equal(view.rows.commands.size, 2);
    assert.equal(view.rows.identities.size, 1);
  });

  it('batches cut at every point, in both topic orders, give the rows of one batch', () => {
    const { events } = aSession();
    const whole = new MemoryView();
    whole.apply(projected(events));
    // Commands and session events travel on different topics: the commands may come first, or last.
    const commandsFirst = [...events.filter((e) => e.type === 'CommandRequested' || e.type === 'VerdictIssued'), ...events.filter((e) => e.type !== 'CommandRequested' && e.type !== 'VerdictIssued')];
    for (const order of [events, commandsFirst, [...commandsFirst].reverse()]) {
      for (let a = 0; a <= order.length; a++) {
        for (let b = a; b <= order.length; b++) {
          const cut = new MemoryView();
          for (const part of [order.slice(0, a), order.slice(a, b), order.slice(b)]) if (part.length) cut.apply(projected(part));
          assert.deepEqual(cut.rows, whole.rows, `cut at ${a}, ${b}`);
          assert.equal(cut.pending.size, 0);
        }
      }
    }
  });

  it('a missing seq leaves the session a gap and the events after it pending, until it arrives', () => {
    const { s, events } = aSession();
    const missing = events[3] as Extract<(typeof events)[number], { type: 'OutputRecorded' }>;
    assert.equal(missing.seq, 4);
    const view = new MemoryView();
    view.apply(projected(events.filter((e) => e !== missing)));
    let row = view.rows.sessions.get(s.sessionId)!;
    assert.deepEqual([row.integrity, row.missing_seq, row.verified_seq], ['gap', 4, 3]);
    assert.deepEqual(view.pending.get(s.sessionId)!.map((e) => e.seq).sort(), [5, 6, 7]);
    view.apply(projected([missing]));
    row = view.rows.sessions.get(s.sessionId)!;
    assert.deepEqual([row.integrity, row.missing_seq, row.verified_seq], ['ok', null, 7]);
    assert.equal(view.pending.size, 0);
  });

  it('an altered event is tampering, in the batch or against a link stored by an earlier batch', () => {
    const { s, events } = aSession();
    const original = events[1] as Extract<(typeof events)[number], { type: 'CommandRequested' }>;
    const altered = { ...original, command: { ...original.command, text: 'SELECT 1' } };
    const inBatch = new MemoryView();
    inBatch.apply(projected(events.map((e) => (e === original ? altered : e))));
    assert.deepEqual([inBatch.rows.sessions.get(s.sessionId)!.integrity, inBatch.rows.sessions.get(s.sessionId)!.tampered_seq], ['tampered', original.seq]);

    const later = new MemoryView();
    later.apply(projected(events));
    const forged = { ...altered, digest: 'f'.repeat(64) };
    later.apply(projected([forged]));
    const row = later.rows.sessions.get(s.sessionId)!;
    assert.deepEqual([row.integrity, row.tampered_seq, row.tampered_event_id], ['tampered', original.seq, altered.eventId]);
  });
});
