/** The replay view's pure functions, given events → rows → transcript. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transcriptRows } from '../src/rows.ts';
import { buildTranscript, renderCast, renderPsql } from '../src/transcript.ts';
import { newId } from '@portcullis/schemas';
import { CraftedSession, tick } from '../../audit-projection/test/crafted.ts';

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

test('given an HTTP request and its recorded response excerpt, the transcript shows the request line and the response', () => {
  const s = new CraftedSession(undefined, undefined, { name: 'shop-api', kind: 'http' as never, tags: [] });
  const request = s.chain.next({
    type: 'CommandRequested' as const, eventId: newId(), occurredAt: tick(), sessionId: s.sessionId, commandId: newId(),
    identity: s.identity, resource: s.resource, protocol: 'http' as const,
    command: { kind: 'http' as const, method: 'GET', path: '/v1/customers/7', query: '', headers: {}, bodySize: 0 },
  });
  const events = [
    s.opened(), request, s.verdict(request, 'mask', ['api-customers-masked'], ['customer records leave the API masked'], []),
    s.completed(request, 'executed', { tag: '200' }), s.httpResponse(request, '{"id":7,"email":"e***@example.com"}', true), s.closed(),
  ];
  const t = buildTranscript(s.sessionId, events as never);
  assert.equal(t.entries.length, 1);
  assert.equal(t.entries[0]!.text, 'GET /v1/customers/7');
  assert.deepEqual(t.entries[0]!.response, { text: '{"id":7,"email":"e***@example.com"}', truncated: true });
  assert.deepEqual(t.entries[0]!.results, []);
});

test('given a recording with a zero-size resize (size not given), the cast keeps 80x24 and leaves the resize out', () => {
  const s = new CraftedSession();
  const output = (stream: [number, 'o' | 'i' | 'r', string][]) => s.chain.next({
    type: 'OutputRecorded' as const, eventId: newId(), occurredAt: tick(), sessionId: s.sessionId, format: 'stream' as const, stream, truncated: false,
  });
  const events = [s.opened(), output([[0.1, 'r', '0x0'], [0.2, 'o', '$ ']]), output([[0.5, 'r', '100x30'], [0.6, 'o', 'ok\r\n']]), s.closed()];
  const t = buildTranscript(s.sessionId, events as never);
  const lines = renderCast(t, events.filter((e) => e.type === 'OutputRecorded') as never).trim().split('\n').map((l) => JSON.parse(l) as unknown);
  assert.deepEqual(lines[0], { version: 2, width: 100, height: 30, timestamp: Math.floor(Date.parse(t.openedAt!) / 1000), title: `portcullis session ${s.sessionId}` });
  assert.deepEqual(lines.slice(1), [[0.2, 'o', '$ '], [0.5, 'r', '100x30'], [0.6, 'o', 'ok\r\n']]);
});
