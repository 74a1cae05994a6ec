/** The replay view's pure functions, given events → rows → transcript. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transcriptRows } from '../src/rows.ts';
import { buildTranscript, renderPsql } from '../src/transcript.ts';
import { CraftedSession } from '../../audit-projection/test/crafted.ts';

function aSession() {
  const s = new CraftedSession();
  const opened = s.opened();
  const read = s.command('SELECT id, email FROM customers');
  const drop = s.command('DROP TABLE orders');
  return {
    s,
    events: [
      opened, read, s.verdict(read, 'mask', ['pii-masked'], ['no personal data']), s.output(read, ['id', 'email'], [['7', 'c***@example.test']]),
      s.completed(read, 'executed', { rows: 1, tag: 'SELECT 1' }), drop, s.verdict(drop, 'block', ['no-destructive'], ['destructive'], ['ddl']),
      s.completed(drop, 'refused'), s.closed(),
    ],
  };
}

test('given events, one row per event id with the columns a transcript is read by; copies collapse', () => {
  const { s, events } = aSession();
  const rows = transcriptRows([...events, ...events]);
  assert.equal(rows.length, events.length);
  const read = events[1] as Extract<(typeof events)[number], { type: 'CommandRequested' }>;
  assert.deepEqual(rows[1], {
    event_id: read.eventId, session_id: s.sessionId, type: 'CommandRequested', seq: read.seq, command_id: read.commandId, occurred_at: read.occurredAt, body: read,
  });
  assert.deepEqual(rows.filter((r) => r.type === 'VerdictIssued').map((r) => r.seq), [null, null]);
  assert.equal(rows[0]!.command_id, null);
});

test('the transcript does not depend on the order the rows were stored in', () => {
  const { s, events } = aSession();
  const forward = buildTranscript(s.sessionId, transcriptRows(events).map((r) => r.body) as never);
  const backward = buildTranscript(s.sessionId, transcriptRows([...events].reverse()).map((r) => r.body) as never);
  assert.deepEqual(forward, backward);
  assert.deepEqual(forward.entries.map((e) => [e.text, e.verdict?.effect, e.outcome?.status]), [
    ['SELECT id, email FROM customers', 'mask', 'executed'],
    ['DROP TABLE orders', 'block', 'refused'],
  ]);
  assert.match(renderPsql(forward), /-- portcullis: BLOCKED by rule no-destructive: destructive\norders-db=> DROP TABLE orders;/);
});
