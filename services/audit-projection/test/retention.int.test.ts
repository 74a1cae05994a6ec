/**
 * Retention of the audit view: prune rows older than N days without touching
 * the log, and rebuild a time window from the log (into the live view, or a
 * schema of its own). Real Kafka and PostgreSQL; the CLI as an operator runs it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createTestBus, silentLogger } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';
import { pruneAudit, rebuildAuditWindow } from '../src/retention.ts';
import { rebuildAuditProjection, startAuditProjection } from '../src/projection.ts';
import { CraftedSession, dropSchema, dumpView, testPool, testSchema } from './support.ts';
import { publishAll } from './publish.ts';

const pool = testPool();
const cleanup: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await pool.end();
});

const sessionOf = (s: CraftedSession) => {
  const cmd = s.command('SELECT 1');
  return [s.opened(), cmd, s.verdict(cmd, 'allow', ['r'], ['ok']), s.completed(cmd, 'executed'), s.closed()];
};
const sessionIds = async (schema: string): Promise<string[]> =>
  (await pool.query<{ session_id: string }>(`SELECT session_id FROM ${schema}.sessions ORDER BY started_at`)).rows.map((r) => r.session_id);
const pause = () => new Promise((r) => setTimeout(r, 1100));

function cli(args: string[], namespace: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = fileURLToPath(new URL('../../cli/bin/portcullis.js', import.meta.url));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, PORTCULLIS_PG_URL: postgresUrl('portcullis'), PORTCULLIS_TOPIC_NAMESPACE: namespace } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('prune drops old sessions from the view only; a window rebuilt from the log brings them back', async () => {
  const bus = createTestBus('audit-retention');
  await bus.connect();
  const schema = testSchema('retention');
  const window = testSchema('retention_window');
  const fromZero = testSchema('retention_zero');
  cleanup.push(() => bus.disconnect(), () => dropSchema(pool, schema), () => dropSchema(pool, window), () => dropSchema(pool, fromZero));
  const projection = await startAuditProjection({ bus, pool, logger: silentLogger(), schema });
  cleanup.push(() => projection.stop());

  const [a, b, c] = [new CraftedSession(), new CraftedSession(), new CraftedSession()];
  const t0 = new Date();
  await publishAll(bus, sessionOf(a));
  await pause();
  const t1 = new Date();
  await publishAll(bus, sessionOf(b));
  await pause();
  const t2 = new Date();
  await publishAll(bus, sessionOf(c));
  await projection.catchUp();
  const full = await dumpView(pool, schema);
  assert.deepEqual(await sessionIds(schema), [a.sessionId, b.sessionId, c.sessionId]);

  // 30 days of retention, on a day when session a's last event is 30 days and a moment old.
  const [bStart] = (await pool.query<{ t: string }>(`SELECT started_at AS t FROM ${schema}.sessions WHERE session_id = $1`, [b.sessionId])).rows;
  const now = new Date(Date.parse(bStart!.t) - 500 + 30 * 86400_000);
  const pruned = await pruneAudit(pool, { schema, olderThanDays: 30, now });
  assert.deepEqual([pruned.sessions, pruned.commands], [1, 1]);
  assert.deepEqual(await sessionIds(schema), [b.sessionId, c.sessionId]);
  assert.equal((await pool.query(`SELECT 1 FROM ${schema}.commands WHERE session_id = $1`, [a.sessionId])).rowCount, 0);

  // The log still holds everything: built from offset 0 it has all three sessions.
  await rebuildAuditProjection({ bus, pool, logger: silentLogger(), schema: fromZero });
  assert.deepEqual(await dumpView(pool, fromZero), full);

  // The window of session a, applied to the live view, restores exactly what was pruned.
  const restored = await rebuildAuditWindow({ bus, pool, logger: silentLogger(), schema, from: t0, to: t1 });
  assert.equal(restored.events, 5);
  assert.deepEqual(await dumpView(pool, schema), full);

  // A window into a schema of its own holds that window only (the CLI as an operator runs it).
  const run = await cli(['projections', 'rebuild', 'audit', '--schema', window, '--from', t1.toISOString(), '--to', t2.toISOString()], bus.names.namespace!);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^applied 5 events of ${t1.toISOString()} \\.\\. ${t2.toISOString()} to ${window}`, 'm'));
  assert.deepEqual(await sessionIds(window), [b.sessionId]);
  const prune = await cli(['projections', 'prune', 'audit', '--schema', window, '--older-than', '0'], bus.names.namespace!);
  assert.equal(prune.code, 0, prune.stderr);
  assert.match(prune.stdout, /: 1 sessions, 1 commands, 0 approvals, 1 identities$/m);
  assert.deepEqual(await sessionIds(window), []);
});
