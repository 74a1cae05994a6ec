/**
 * What-if throughput: a generated history of recorded commands (a realistic
 * mix of SQL with varying literals, shell and HTTP, in sessions of 20) is
 * streamed through the what-if comparison under a draft of the example
 * policy that blocks production writes. Nothing is loaded whole: each command
 * and its verdict are made, fed and dropped, so memory stays flat.
 *
 *   node --import tsx services/policy-decision/bench/whatif.bench.ts [commands]
 */
import { readFileSync } from 'node:fs';
import type { CommandRequested, VerdictIssued } from '@portcullis/schemas';
import { configureSqlParseCache, loadSqlParser } from '../src/analysis/sql.ts';
import { evaluate } from '../src/evaluate.ts';
import { policyStateFromDocument } from '../src/policy/state.ts';
import { createWhatIf } from '../src/whatif/compare.ts';

const total = Number(process.argv[2] ?? 1_000_000);
const policyText = readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8');
const live = policyStateFromDocument(policyText, 'automation-access.yaml');
// The draft under review: production writes by automation are blocked instead of held.
const draft = policyStateFromDocument(
  policyText.replace('rules:\n', 'rules:\n  - id: no-production-writes\n    effect: block\n    reason: production writes are frozen\n    match:\n      identity: { kind: service }\n      resource: { tags: [production] }\n      sql: { classes: [write] }\n'),
  'draft.yaml',
);
if (!live.ok || !draft.ok) throw new Error('example policy does not parse');

type Template = { weight: number; command: (i: number) => CommandRequested['command']; protocol: CommandRequested['protocol'] };
const sql = (text: string): CommandRequested['command'] => ({ kind: 'sql', text, phase: 'simple' });
const templates: Template[] = [
  { weight: 30, protocol: 'postgres', command: (i) => sql(`SELECT id, status, total FROM orders WHERE customer_id = ${i % 5000} ORDER BY placed_at DESC LIMIT 20`) },
  { weight: 12, protocol: 'postgres', command: () => sql("SELECT c.id, c.email, count(o.id) FROM customers c LEFT JOIN orders o ON o.customer_id = c.id WHERE c.created_at > now() - interval '7 days' GROUP BY c.id, c.email") },
  { weight: 10, protocol: 'postgres', command: (i) => sql(`UPDATE orders SET status = 'shipped' WHERE id = ${i % 20000}`) },
  { weight: 8, protocol: 'postgres', command: () => sql('BEGIN') },
  { weight: 8, protocol: 'postgres', command: () => sql('COMMIT') },
  { weight: 5, protocol: 'postgres', command: (i) => sql(`SELECT name, email, card_number FROM customers WHERE id = ${i % 1000}`) },
  { weight: 2, protocol: 'postgres', command: () => sql('DELETE FROM orders WHERE 1=1') },
  { weight: 10, protocol: 'ssh', command: (i) => ({ kind: 'shell', commandLine: i % 2 ? 'uptime' : 'df -h /var', channel: 'exec' }) },
  { weight: 3, protocol: 'ssh', command: () => ({ kind: 'shell', commandLine: 'rm -rf /var/lib/app', channel: 'exec' }) },
  { weight: 12, protocol: 'http', command: (i) => ({ kind: 'http', method: 'GET', path: `/api/v1/namespaces/default/pods/web-${i % 50}`, query: '', headers: {}, bodySize: 0 }) },
];
const pick: Template[] = templates.flatMap((t) => Array<Template>(t.weight).fill(t));
const resourceOf: Record<CommandRequested['protocol'], CommandRequested['resource']> = {
  postgres: { name: 'orders-prod', kind: 'postgres', tags: ['production'] },
  ssh: { name: 'web-1', kind: 'ssh', tags: ['production'] },
  http: { name: 'k8s-prod', kind: 'kubernetes', tags: ['production'] },
  mcp: { name: 'files', kind: 'mcp', tags: ['production'] },
};
const identities = ['ci-deploy', 'llm-agent', 'nightly-report', 'terraform'].map((subject) => ({ subject, issuer: 'https://idp.example.com', kind: 'service' as const, groups: ['ci'] }));

const uuid = (n: number): string => `01890000-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
function commandAt(i: number): CommandRequested {
  const t = pick[(i * 7919) % pick.length]!;
  const sessionNo = Math.floor(i / 20);
  return {
    type: 'CommandRequested',
    eventId: uuid(2 * i),
    occurredAt: new Date(Date.UTC(2026, 10, 1) + i * 50).toISOString(),
    sessionId: `session-${t.protocol}-${sessionNo}`,
    seq: (i % 20) + 1,
    digest: '0'.repeat(64),
    commandId: uuid(2 * i + 1),
    identity: identities[sessionNo % identities.length]!,
    resource: resourceOf[t.protocol],
    protocol: t.protocol,
    command: t.command(i),
  };
}

// The recorded verdicts: what the live policy said. Same template, same verdict, so decide each template once.
const recordedByTemplate = new Map<Template, Awaited<ReturnType<typeof evaluate>>['decision']>();
await loadSqlParser();
if (process.env.WHATIF_CACHE) configureSqlParseCache(Number(process.env.WHATIF_CACHE));
for (const t of templates) recordedByTemplate.set(t, (await evaluate({ ...commandAt(0), protocol: t.protocol, resource: resourceOf[t.protocol], command: t.command(1) }, live.state)).decision);
function verdictFor(c: CommandRequested, i: number): VerdictIssued {
  const d = recordedByTemplate.get(pick[(i * 7919) % pick.length]!)!;
  return { type: 'VerdictIssued', eventId: uuid(3 * i), occurredAt: c.occurredAt, sessionId: c.sessionId, commandId: c.commandId, effect: d.effect, ruleIds: d.ruleIds, reasons: d.reasons, ...(d.mask ? { mask: d.mask } : {}), policyVersion: 1, final: d.effect !== 'hold', classes: d.classes };
}

const whatIf = createWhatIf({ draft: draft.state });
let peakRss = process.memoryUsage().rss;
const started = performance.now();
for (let i = 0; i < total; i++) {
  const c = commandAt(i);
  await whatIf.onCommand(c);
  whatIf.onVerdict(verdictFor(c, i));
  if (i % 50_000 === 0) peakRss = Math.max(peakRss, process.memoryUsage().rss);
}
const report = whatIf.finish();
const seconds = (performance.now() - started) / 1000;
peakRss = Math.max(peakRss, process.memoryUsage().rss);
console.log(`what-if: ${total.toLocaleString('en-US')} commands re-decided and compared in ${seconds.toFixed(1)} s (${Math.round(total / seconds).toLocaleString('en-US')} commands/s), peak RSS ${(peakRss / 1048576).toFixed(0)} MB`);
console.log(`transitions: ${report.transitions.map((t) => `${t.transition} ${t.count.toLocaleString('en-US')}`).join(', ') || 'none'}; unchanged ${report.unchanged.toLocaleString('en-US')}`);
console.log(`bench:whatif ${total.toLocaleString('en-US')} commands: ${seconds.toFixed(1)} s (target < 60 s)`);
