import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import v8 from 'node:v8';
import vm from 'node:vm';
import { createIdentityVerifier } from '@portcullis/kit';
import { issueHumanToken, issueServiceToken } from '@portcullis/infra';
import { policyStateFromDocument } from '@portcullis/policy-decision';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/api/app.ts';
import { inTransaction, migrateProjection, schemaIdent, type ProjectedEvent } from '@portcullis/kit';
import { auditProjection } from '../src/audit/tables.ts';
import { applyAuditBatch } from '../src/audit/apply.ts';
import { alice, CraftedSession, dropSchema, ISSUER, testPool, testSchema } from './support.ts';

const pool = testPool();
const schema = testSchema('api');
let app: FastifyInstance;
let carol: string;
const policy = readFileSync(fileURLToPath(new URL('../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');
const ci = new CraftedSession();
const human = new CraftedSession(undefined, alice, { name: 'reports-db', kind: 'postgres', tags: ['staging'] });

async function apply(events: { type: string }[]): Promise<void> {
  const batch = events.map((event, i) => ({ topicKey: 'commands', event, partition: 0, offset: String(i) }) as unknown as ProjectedEvent);
  await inTransaction(pool, (client) => applyAuditBatch(client, schema, batch));
}

before(async () => {
  await migrateProjection(pool, schema, auditProjection);
  const read = ci.command('SELECT id, email FROM customers WHERE id = 7');
  const drop = ci.command('DROP TABLE orders');
  const write = ci.command("UPDATE orders SET note = 'a,\"b\"' WHERE id = 1");
  const report = human.command('SELECT count(*) FROM invoices');
  await apply([
    ci.opened(), read, ci.verdict(read, 'mask', ['pii-masked'], ['automation never sees personal data']), ci.completed(read, 'executed', { rows: 1 }),
    drop, ci.verdict(drop, 'block', ['automation-no-destructive'], ['destructive'], ['ddl']), ci.completed(drop, 'refused'),
    write, ci.verdict(write, 'hold', ['automation-write-production'], ['needs a DBA'], ['write'], false), ci.closed(),
    human.opened(), report, human.verdict(report, 'allow', ['people-read'], ['people may read']), human.completed(report, 'executed', { rows: 1 }),
  ]);
  const verifier = createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] });
  const state = policyStateFromDocument(policy, 'automation-access.yaml');
  assert.ok(state.ok);
  app = await buildApp({ pool, verifier, schema, policyState: () => state.state });
  carol = await issueHumanToken(ISSUER, 'carol');
});

after(async () => {
  await app?.close();
  await dropSchema(pool, schema);
  await pool.end();
});

const get = async (url: string, token: string | null = carol, headers: Record<string, string> = {}) => {
  const res = await app.inject({ method: 'GET', url, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
  return { status: res.statusCode, body: res.headers['content-type']?.toString().startsWith('application/json') ? res.json() : res.body, headers: res.headers };
};

test('reading the audit needs a valid token of an auditor; refusals say why', async () => {
  const none = await get('/sessions', null);
  assert.equal(none.status, 401);
  assert.equal(none.body.code, 'PCL_ERR_UNAUTHENTICATED');
  assert.match(none.body.message, /Bearer/);
  const junk = await get('/sessions', 'not-a-jwt');
  assert.equal(junk.status, 401);
  assert.match(junk.body.message, /not a JWT/);
  const bob = await get('/sessions', await issueHumanToken(ISSUER, 'bob'));
  assert.equal(bob.status, 403);
  assert.equal(bob.body.code, 'PCL_ERR_FORBIDDEN');
  assert.match(bob.body.message, /"auditors".*bob.*"developers"/);
  const service = await get('/commands', await issueServiceToken(ISSUER, 'ci-deploy'));
  assert.equal(service.status, 403);
  const auditorBot = await get('/commands', await issueServiceToken(ISSUER, 'auditor-bot'));
  assert.equal(auditorBot.status, 200);
  const docs = await get('/docs/json', null);
  assert.equal(docs.status, 200);
  assert.ok(docs.body.paths['/commands/export'] && docs.body.paths['/sessions/{id}'] && docs.body.paths['/identities']);
});

test('sessions: filters, detail with commands in order, integrity explained, 404', async () => {
  const all = await get('/sessions');
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.items.map((s: { sessionId: string }) => s.sessionId), [human.sessionId, ci.sessionId]);
  const blocked = await get('/sessions?hadBlocked=true');
  assert.deepEqual(blocked.body.items.map((s: { sessionId: string }) => s.sessionId), [ci.sessionId]);
  assert.equal(blocked.body.items[0].blockedOrHeldCount, 2);
  for (const effect of ['mask', 'block', 'hold']) {
    assert.deepEqual((await get(`/sessions?effect=${effect}`)).body.items.map((s: { sessionId: string }) => s.sessionId), [ci.sessionId], effect);
  }
  assert.ok(!(await get('/sessions?effect=allow')).body.items.some((s: { sessionId: string }) => s.sessionId === ci.sessionId));
  assert.equal((await get('/sessions?effect=maybe')).status, 400);
  assert.equal((await get('/sessions?identity=alice&protocol=postgres')).body.items.length, 1);
  assert.equal((await get('/sessions?integrity=gap')).body.items.length, 0);
  assert.equal((await get('/sessions?from=2099-01-01T00:00:00Z')).body.items.length, 0);
  const detail = await get(`/sessions/${ci.sessionId}`);
  assert.equal(detail.status, 200);
  assert.equal(detail.body.integrity.status, 'ok');
  assert.match(detail.body.integrity.detail, /seq 1\.\.7/);
  assert.deepEqual(detail.body.commands.map((c: { verdict: { effect: string } }) => c.verdict.effect), ['mask', 'block', 'hold']);
  assert.deepEqual(detail.body.commands[2].flags, ['no-outcome']);
  const missing = await get('/sessions/nope');
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'PCL_ERR_NOT_FOUND');
  const bad = await get('/sessions?integrity=broken');
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'PCL_ERR_VALIDATION');
});

test('commands: filters by effect, rule, class, resource, identity, text; cursor pages walk every row once', async () => {
  const ids = (r: { body: { items: { text: string }[] } }) => r.body.items.map((c) => c.text);
  assert.deepEqual(ids(await get('/commands?effect=block')), ['DROP TABLE orders']);
  assert.deepEqual(ids(await get('/commands?ruleId=pii-masked')), ['SELECT id, email FROM customers WHERE id = 7']);
  assert.deepEqual(ids(await get('/commands?statementClass=write')), ["UPDATE orders SET note = 'a,\"b\"' WHERE id = 1"]);
  assert.deepEqual(ids(await get('/commands?resource=reports-db&identity=alice')), ['SELECT count(*) FROM invoices']);
  assert.deepEqual(ids(await get('/commands?q=CUSTOMERS')), ['SELECT id, email FROM customers WHERE id = 7']);
  assert.deepEqual(ids(await get('/commands?q=%25')), [], 'a % in the search is literal');
  assert.deepEqual(ids(await get('/commands?flagged=true')), ["UPDATE orders SET note = 'a,\"b\"' WHERE id = 1"]);
  const seen: string[] = [];
  let url = '/commands?limit=1';
  for (let i = 0; i < 10; i++) {
    const page = await get(url);
    seen.push(...page.body.items.map((c: { commandId: string }) => c.commandId));
    if (!page.body.nextCursor) break;
    url = `/commands?limit=1&cursor=${page.body.nextCursor}`;
  }
  assert.equal(seen.length, 4);
  assert.equal(new Set(seen).size, 4);
  const item = (await get('/commands?effect=mask')).body.items[0];
  assert.deepEqual(Object.keys(item).sort(), ['at', 'commandId', 'dispute', 'flags', 'identity', 'kind', 'outcome', 'parameters', 'phase', 'protocol', 'reason', 'resource', 'seq', 'sessionId', 'statementName', 'text', 'traceId', 'verdict']);
  assert.equal((await get('/commands?cursor=garbage')).status, 400);
});

test('export as NDJSON and CSV with the same filters', async () => {
  const ndjson = await get('/commands/export?format=ndjson&identity=ci-deploy');
  assert.equal(ndjson.status, 200);
  assert.match(String(ndjson.headers['content-type']), /ndjson/);
  const lines = String(ndjson.body).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 3);
  assert.ok(lines.every((l) => l.identity.subject === 'ci-deploy'));
  const csv = await get('/commands/export?format=csv&effect=hold');
  const rows = String(csv.body).trim().split('\r\n');
  assert.match(rows[0]!, /^at,command_id,session_id/);
  assert.equal(rows.length, 2);
  assert.ok(rows[1]!.includes('"UPDATE orders SET note = \'a,""b""\' WHERE id = 1"'));
});

test('identities: inventory with resources and counts; dormant, kind, resource filters; over-privilege against the policy', async () => {
  const all = await get('/identities');
  const ciRow = all.body.items.find((i: { subject: string }) => i.subject === 'ci-deploy');
  assert.deepEqual(ciRow.resources, ['orders-db']);
  assert.deepEqual(ciRow.commandCounts, { mask: 1, block: 1, hold: 1 });
  assert.equal((await get('/identities?kind=human')).body.items[0].subject, 'alice');
  assert.equal((await get('/identities?resource=reports-db')).body.items.length, 1);
  // Crafted events are dated 2025; "not seen for 30 days" finds them, "not seen since 2020" finds none.
  assert.equal((await get('/identities?dormantSince=30d')).body.items.length, 2);
  assert.equal((await get('/identities?dormantSince=2020-01-01T00:00:00Z')).body.items.length, 0);
  assert.equal((await get('/identities?dormantSince=soon')).status, 400);
  const over = await get('/identities/overprivileged?window=3650d&ratio=0.5');
  assert.equal(over.status, 200);
  const entry = over.body.items.find((i: { subject: string }) => i.subject === 'ci-deploy');
  assert.ok(entry, JSON.stringify(over.body));
  assert.deepEqual(entry.usedClasses, ['read']);
  assert.ok(entry.admittedClasses.includes('write') && entry.admittedClasses.includes('prepare'));
  assert.ok(entry.allowRules.includes('automation-read'));
});

test('export streams from a cursor: 200,000 rows, first bytes long before the end, memory flat', async () => {
  const s = schemaIdent(schema);
  await pool.query(`INSERT INTO ${s}.commands (command_id, session_id, seq, at, identity_subject, resource, kind, text, effect, classes, rule_ids, status)
    SELECT 'bulk-' || g, 'bulk-session', g, timestamptz '2024-01-01' + g * interval '1 second', 'bulk-job', 'orders-db', 'sql',
           'SELECT ' || g || ' FROM generated_rows WHERE padding = ''' || repeat('x', 20) || '''', 'allow', '{read}', '{automation-read}', 'executed'
      FROM generate_series(1, 200000) g`);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = Date.now();
  const res = await request(`http://127.0.0.1:${port}/commands/export?format=ndjson&identity=bulk-job`, { headers: { authorization: `Bearer ${carol}` } });
  assert.equal(res.statusCode, 200);
  let firstByteMs = -1;
  let bytes = 0;
  let newlines = 0;
  let peakHeap = heapBefore;
  let nextSample = 25_000;
  for await (const chunk of res.body) {
    if (firstByteMs < 0) firstByteMs = Date.now() - started;
    bytes += (chunk as Buffer).length;
    for (const b of chunk as Buffer) if (b === 10) newlines++;
    if (newlines >= nextSample) {
      // Live memory, not garbage: what the export holds on to while it runs.
      nextSample += 25_000;
      gc();
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }
  }
  const totalMs = Date.now() - started;
  assert.equal(newlines, 200_000);
  const growthMb = (peakHeap - heapBefore) / 1e6;
  console.log(`# export: ${bytes / 1e6} MB, first bytes after ${firstByteMs} ms of ${totalMs} ms, heap growth ${growthMb.toFixed(1)} MB`);
  assert.ok(firstByteMs < totalMs / 4, `first bytes after ${firstByteMs} ms of ${totalMs} ms`);
  assert.ok(growthMb < 20, `live heap grew ${growthMb} MB during a ${bytes / 1e6} MB export`);
});

test('an export the client abandons after its first lines stops: its cursor and connection are given back at once', async () => {
  // The 200,000 rows of the previous test are still there; the app listens already.
  const { port } = app.server.address() as AddressInfo;
  const res = await request(`http://127.0.0.1:${port}/commands/export?format=ndjson&identity=bulk-job`, { headers: { authorization: `Bearer ${carol}` } });
  for await (const chunk of res.body) {
    assert.ok(String(chunk).startsWith('{"commandId":"bulk-'));
    break;
  }
  res.body.destroy();
  const started = Date.now();
  for (;;) {
    const open = await pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%export_cursor%' AND state <> 'idle'
      AND pid <> pg_backend_pid()`);
    const busy = pool.totalCount - pool.idleCount;
    // One connection is this probe's own.
    if (open.rows[0].n === 0 && busy <= 1) break;
    assert.ok(Date.now() - started < 3000, `the abandoned export still holds ${busy - 1} connection(s), ${open.rows[0].n} cursor(s) after ${Date.now() - started} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
});
