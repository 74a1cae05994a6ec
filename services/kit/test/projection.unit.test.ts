/** Pure pieces of the projection runner: how current a partition is, and the set-based statement's source. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { partitionStatus } from '../src/projection/status.ts';
import { pgTextArray, unnestSource, type TableShape } from '../src/projection/set-write.ts';

test('a caught-up partition is 0 s behind; one with lag is as far behind as the last event it applied', () => {
  const now = Date.parse('2026-01-01T10:00:10.000Z');
  const base = { topic: 't', partition: 0, now, since: now - 60_000 };
  assert.deepEqual(partitionStatus({ ...base, position: 5n, end: 5n, appliedUntil: now - 30_000 }),
    { topic: 't', partition: 0, position: '5', end: '5', lag: 0, secondsBehind: 0, appliedUntil: '2026-01-01T09:59:40.000Z' });
  const behind = partitionStatus({ ...base, position: 5n, end: 9n, appliedUntil: now - 2500 });
  assert.deepEqual([behind.lag, behind.secondsBehind], [4, 2.5]);
  // Nothing applied yet: behind since the projection started.
  assert.equal(partitionStatus({ ...base, position: 0n, end: 3n, appliedUntil: undefined }).secondsBehind, 60);
});

test('text arrays are PostgreSQL literals with quotes and backslashes escaped, NULL kept', () => {
  assert.equal(pgTextArray([]), '{}');
  assert.equal(pgTextArray(['a', 'b c', 'say "hi"', 'back\\slash', null, '{x,y}']), '{"a","b c","say \\"hi\\"","back\\\\slash",NULL,"{x,y}"}');
});

test('one array parameter per column, JSON columns as one JSON array joined on the ordinal', () => {
  interface Row { id: string; n: number | null; tags: string[] | null; body: unknown }
  const shape: TableShape<Row> = {
    table: 't', key: ['id'],
    columns: [{ name: 'id', type: 'text' }, { name: 'n', type: 'int' }, { name: 'tags', type: 'text[]' }, { name: 'body', type: 'jsonb' }],
  };
  const { from, select, values } = unnestSource(shape, [{ id: 'a', n: 1, tags: ['x'], body: { k: [1] } }, { id: 'b', n: null, tags: null, body: null }]);
  assert.deepEqual(values, [['a', 'b'], [1, null], ['{"x"}', null], '[{"k":[1]},null]']);
  assert.equal(from, 'unnest($1::text[], $2::int[], $3::text[]) WITH ORDINALITY AS u(id, n, tags, ord) JOIN json_array_elements($4::json) WITH ORDINALITY AS j_body(v, ord) ON j_body.ord = u.ord');
  assert.equal(select, "u.id, u.n, u.tags::text[], CASE WHEN json_typeof(j_body.v) = 'null' THEN NULL ELSE j_body.v::jsonb END");
});
