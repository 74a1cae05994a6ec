/**
 * npm run bench:audit-queries — latency of the query API over a large audit
 * view: p50/p95 per endpoint over real HTTP, with a real auditor token.
 * The history is generated in PostgreSQL (generate.ts), not checked in.
 *   PORTCULLIS_BENCH_COMMANDS=1000000  PORTCULLIS_BENCH_RUNS=40
 *   PORTCULLIS_BENCH_SCHEMA=<schema>   reuse (and keep) a generated view
 *   PORTCULLIS_BENCH_EXPLAIN=1         also print EXPLAIN ANALYZE of each list query
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { request } from 'undici';
import { createIdentityVerifier, createPool, schemaIdent } from '@portcullis/kit';
import { issueHumanToken, postgresUrl } from '@portcullis/infra';
import { buildApp } from '../src/api/app.ts';
import { commandsQuery, decodeCursor, sessionsQuery } from '../src/api/queries.ts';
import { generateHistory } from './generate.ts';

const commands = Number(process.env.PORTCULLIS_BENCH_COMMANDS ?? 1_000_000);
const runs = Number(process.env.PORTCULLIS_BENCH_RUNS ?? 40);
const keep = Boolean(process.env.PORTCULLIS_BENCH_SCHEMA);
const schema = process.env.PORTCULLIS_BENCH_SCHEMA ?? `bench_queries_${randomBytes(4).toString('hex')}`;
const pool = createPool(postgresUrl('portcullis'), 4);
const s = schemaIdent(schema);

const existing = await pool.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${schema}.commands`]);
const have = existing.rows[0].present ? Number((await pool.query(`SELECT count(*)::int AS n FROM ${s}.commands`)).rows[0].n) : 0;
if (have < commands) {
  const t = Date.now();
  await generateHistory(pool, schema, commands, (line) => process.stderr.write(`\r${line}`));
  console.log(`\ngenerated ${commands} commands in ${((Date.now() - t) / 1000).toFixed(0)} s`);
}
const counts = (await pool.query(`SELECT (SELECT count(*) FROM ${s}.commands)::int AS c, (SELECT count(*) FROM ${s}.sessions)::int AS s`)).rows[0];
console.log(`view ${schema}: ${counts.c} commands, ${counts.s} sessions; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const issuer = 'http://127.0.0.1:9400';
const app = await buildApp({ pool, schema, verifier: createIdentityVerifier({ issuers: [{ issuer, audience: 'portcullis' }] }) });
await app.listen({ port: 0, host: '127.0.0.1' });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
const headers = { authorization: `Bearer ${await issueHumanToken(issuer, 'carol')}` };

async function get(path: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  const res = await request(`${base}${path}`, { headers });
  const body = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${body.slice(0, 200)}`);
  return { ms: performance.now() - t, body };
}

/** Time to the first byte of the body (the export streams for as long as there are rows). */
async function firstByte(path: string): Promise<{ ms: number; body: string }> {
  const t = performance.now();
  const res = await request(`${base}${path}`, { headers });
  for await (const chunk of res.body) {
    const ms = performance.now() - t;
    res.body.destroy();
    return { ms, body: String(chunk).slice(0, 200) };
  }
  return { ms: performance.now() - t, body: '' };
}

const newest = JSON.parse((await get('/sessions?limit=1')).body).items[0];
const page2 = JSON.parse((await get('/commands?limit=100')).body).nextCursor as string;
const day = new Date(Date.parse(newest.startedAt) - 30 * 86400_000);
const from = day.toISOString();
const to = new Date(day.getTime() + 86400_000).toISOString();
const endpoints: [string, string, 'full' | 'first-byte'][] = [
  ['session list', '/sessions?limit=50', 'full'],
  ['sessions of an identity', '/sessions?limit=50&identity=user-17', 'full'],
  ['sessions on a resource', '/sessions?limit=50&resource=db-7', 'full'],
  ['sessions in a day', `/sessions?limit=50&from=${from}&to=${to}`, 'full'],
  ["a session's commands", `/sessions/${encodeURIComponent(newest.sessionId)}`, 'full'],
  ['command list', '/commands?limit=100', 'full'],
  ['command list, next page', `/commands?limit=100&cursor=${page2}`, 'full'],
  ['commands of an identity', '/commands?limit=100&identity=user-17', 'full'],
  ['commands on a resource', '/commands?limit=100&resource=db-7', 'full'],
  ['blocked commands', '/commands?limit=100&effect=block', 'full'],
  ['blocked commands of an identity', '/commands?limit=100&effect=block&identity=user-17', 'full'],
  ['commands in a day', `/commands?limit=100&from=${from}&to=${to}`, 'full'],
  ['NDJSON export (first byte)', '/commands/export', 'first-byte'],
  ['NDJSON export of an identity (first byte)', '/commands/export?identity=user-17', 'first-byte'],
];

const pct = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
console.log(`${'endpoint'.padEnd(44)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)}`);
for (const [name, path, mode] of endpoints) {
  const times: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const { ms } = await (mode === 'full' ? get(path) : firstByte(path));
    if (i >= 3) times.push(ms);
  }
  times.sort((a, b) => a - b);
  console.log(`${name.padEnd(44)} ${pct(times, 50).toFixed(1).padStart(8)} ${pct(times, 95).toFixed(1).padStart(8)}`);
}

if (process.env.PORTCULLIS_BENCH_EXPLAIN) {
  const plans: [string, { text: string; values: unknown[] }][] = [
    ['session list', sessionsQuery(s, {}, undefined, 51)],
    ['sessions of an identity', sessionsQuery(s, { identity: 'user-17' }, undefined, 51)],
    ['command list, next page', commandsQuery(s, {}, decodeCursor(page2), 101)],
    ['commands of an identity', commandsQuery(s, { identity: 'user-17' }, undefined, 101)],
    ['blocked commands', commandsQuery(s, { effect: 'block' }, undefined, 101)],
    ['commands in a day', commandsQuery(s, { from, to }, undefined, 101)],
    ["a session's commands", commandsQuery(s, { sessionId: newest.sessionId }, undefined, 100_000)],
  ];
  for (const [name, q] of plans) {
    const { rows } = await pool.query(`EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) ${q.text}`, q.values);
    console.log(`\n-- ${name}\n${rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n')}`);
  }
}

await app.close();
if (!keep) await pool.query(`DROP SCHEMA ${s} CASCADE`);
await pool.end();
