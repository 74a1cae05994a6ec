/**
 * Pure analyze + decide throughput on one core for a realistic mix of
 * statements (mostly reads, some writes, a few risky ones), against the
 * shipped example policy, first with the parse cache off (every decision
 * parses its SQL), then with it on.
 *
 *   node --import tsx services/policy-decision/bench/decide.bench.ts [seconds]
 */
import { readFileSync } from 'node:fs';
import type { CommandRequested } from '@portcullis/schemas';
import { analyzeSqlSync, configureSqlParseCache, emptySqlSession, loadSqlParser } from '../src/analysis/sql.ts';
import { decide } from '../src/decide.ts';
import { policyStateFromDocument } from '../src/policy/state.ts';

const seconds = Number(process.argv[2] ?? 3);
const loaded = policyStateFromDocument(readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8'), 'automation-access.yaml');
if (!loaded.ok) throw new Error('example policy does not parse');
const state = loaded.state;

const mix: [weight: number, sql: string][] = [
  [30, 'SELECT id, status, total FROM orders WHERE customer_id = 42 ORDER BY placed_at DESC LIMIT 20'],
  [15, 'SELECT c.id, c.email, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.created_at > now() - interval \'7 days\' GROUP BY c.id, c.email'],
  [10, 'SELECT * FROM products WHERE sku = ANY($1)'],
  [10, "UPDATE orders SET status = 'shipped', shipped_at = now() WHERE id = 1234"],
  [8, "INSERT INTO events (kind, payload) VALUES ('login', '{\"ip\":\"10.0.0.1\"}')"],
  [7, 'BEGIN'],
  [7, 'COMMIT'],
  [5, 'WITH recent AS (SELECT customer_id, sum(total) AS spent FROM orders WHERE placed_at > now() - interval \'30 days\' GROUP BY 1) SELECT c.email, r.spent FROM recent r JOIN customers c ON c.id = r.customer_id WHERE r.spent > 1000'],
  [3, 'DELETE FROM orders WHERE 1=1'],
  [2, "SELECT pg_read_file('/etc/passwd')"],
  [2, "DO $$ BEGIN EXECUTE 'DROP TABLE orders'; END $$"],
  [1, 'SET ROLE postgres'],
];
const texts = mix.flatMap(([w, s]) => Array<string>(w).fill(s));
const identity = { subject: 'ci-deploy', issuer: 'https://idp.example.com', kind: 'service' as const, groups: ['ci'] };
const commands: CommandRequested[] = texts.map((text, i) => ({
  type: 'CommandRequested',
  eventId: '01890000-0000-7000-8000-000000000001',
  occurredAt: '2025-01-01T00:00:00.000Z',
  sessionId: 'bench',
  seq: i + 1,
  digest: '0'.repeat(64),
  commandId: '01890000-0000-7000-8000-000000000002',
  identity,
  resource: { name: 'orders-prod', kind: 'postgres', tags: ['production'] },
  protocol: 'postgres',
  command: { kind: 'sql', text, phase: 'simple' },
}));

await loadSqlParser();
const session = emptySqlSession();

function run(label: string, step: (c: CommandRequested) => void): void {
  for (let i = 0; i < 2000; i++) step(commands[i % commands.length]!); // warm-up
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const started = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < commands.length; i++, n++) {
      const t0 = performance.now();
      step(commands[i]!);
      if ((n & 15) === 0) latencies.push(performance.now() - t0);
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => (latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]! * 1000).toFixed(1);
  console.log(`${label.padEnd(28)} ${Math.round(n / elapsed).toLocaleString('en-US').padStart(9)} decisions/s   p50 ${pct(0.5)} µs   p99 ${pct(0.99)} µs   (${n} in ${elapsed.toFixed(1)} s)`);
}

console.log(`mix: ${mix.length} statement shapes, ${commands.length} commands per round; policy: ${state.policy!.rules.length} rules; node ${process.version}`);
configureSqlParseCache(0);
run('analyze + decide, no cache', (c) => {
  decide(c, analyzeSqlSync((c.command as { text: string }).text, session), state);
});
configureSqlParseCache(2000);
run('analyze + decide, parse cache', (c) => {
  decide(c, analyzeSqlSync((c.command as { text: string }).text, session), state);
});
const analyses = new Map(texts.map((t) => [t, analyzeSqlSync(t, session)]));
run('decide only (pre-analysed)', (c) => {
  decide(c, analyses.get((c.command as { text: string }).text)!, state);
});
