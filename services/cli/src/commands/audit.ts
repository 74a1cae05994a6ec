/**
 * `portcullis audit sessions|session|commands|export`: the compliance query
 * API over HTTP (PORTCULLIS_API_URL, token from PORTCULLIS_TOKEN).
 */
import type { Command } from 'commander';
import { request } from 'undici';
import { commandGroup } from '../groups.ts';

export const apiUrl = (): string => (process.env.PORTCULLIS_API_URL || 'http://127.0.0.1:8090').replace(/\/$/, '');

/** GET from the query API; prints the API's own error message and exits 1 on failure. */
export async function apiGet(path: string, accept = 'application/json'): Promise<{ text: () => Promise<string>; body: NodeJS.ReadableStream }> {
  const token = process.env.PORTCULLIS_TOKEN;
  const res = await request(`${apiUrl()}${path}`, { headers: { accept, ...(token ? { authorization: `Bearer ${token}` } : {}) } }).catch((err: Error) => {
    console.error(`portcullis: cannot reach the query API at ${apiUrl()}: ${err.message}`);
    process.exit(1);
  });
  if (res.statusCode >= 400) {
    const raw = await res.body.text();
    let message = raw;
    try {
      const e = JSON.parse(raw) as { code: string; message: string };
      message = `${e.message} (${e.code})`;
    } catch { /* not JSON */ }
    console.error(`portcullis: ${message}`);
    process.exit(1);
  }
  return { text: () => res.body.text(), body: res.body };
}

/** POST JSON to the query API (the admin routes); prints the API's own error message and exits 1 on failure. */
export async function apiPost(path: string, body: unknown): Promise<unknown> {
  const token = process.env.PORTCULLIS_TOKEN;
  const res = await request(`${apiUrl()}${path}`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  }).catch((err: Error) => {
    console.error(`portcullis: cannot reach the query API at ${apiUrl()}: ${err.message}`);
    process.exit(1);
  });
  const raw = await res.body.text();
  if (res.statusCode >= 400) {
    let message = raw;
    try {
      const e = JSON.parse(raw) as { code: string; message: string };
      message = `${e.message} (${e.code})`;
    } catch { /* not JSON */ }
    console.error(`portcullis: ${message}`);
    process.exit(1);
  }
  return raw ? JSON.parse(raw) : undefined;
}

export const query = (opts: Record<string, unknown>): string => {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== false && k !== 'json') params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
};

export function registerAuditCommands(program: Command): void {
  const audit = commandGroup(program, 'audit', 'query the audit: sessions, commands, export');
  audit.command('sessions').description('list sessions, newest first')
    .option('--identity <subject>').option('--resource <name>').option('--protocol <p>').option('--from <iso>').option('--to <iso>')
    .option('--integrity <ok|gap|tampered>').option('--had-blocked', 'only sessions with a blocked or held command')
    .option('--disputed', 'only sessions with a verdict the verifier disputed')
    .option('--limit <n>', 'page size', '50').option('--cursor <c>').option('--json', 'print JSON')
    .action(async (o) => {
      const page = JSON.parse(await (await apiGet(`/sessions${query({ ...o, hadBlocked: o.hadBlocked ? 'true' : undefined, disputed: o.disputed ? 'true' : undefined })}`)).text());
      if (o.json) return console.log(JSON.stringify(page, null, 2));
      for (const s of page.items) {
        console.log(`${s.startedAt ?? '-'}  ${s.sessionId}  ${s.identity.subject ?? '-'}  ${s.resource.name ?? '-'}  ${s.integrity.status}  commands=${s.commandCount} blocked/held=${s.blockedOrHeldCount} flagged=${s.flaggedCount}${s.disputed ? '  DISPUTED' : ''}`);
      }
      if (page.nextCursor) console.log(`-- more: --cursor ${page.nextCursor}`);
    });
  audit.command('session').description('one session with its commands').argument('<id>').option('--json')
    .action(async (id: string, o) => {
      const s = JSON.parse(await (await apiGet(`/sessions/${encodeURIComponent(id)}`)).text());
      if (o.json) return console.log(JSON.stringify(s, null, 2));
      console.log(`${s.sessionId}  ${s.identity.subject} on ${s.resource.name} (${s.protocol})  integrity: ${s.integrity.status} — ${s.integrity.detail}`);
      if (s.disputed) console.log('  DISPUTED: the verifier disagreed with a verdict issued in this session');
      for (const c of s.commands) {
        console.log(`  #${c.seq ?? '?'} ${c.verdict.effect ?? 'no verdict'} ${c.outcome.status ?? '-'}  ${c.text}${c.flags.length ? `  [${c.flags.join(', ')}]` : ''}`);
        if (c.dispute) console.log(`      ${formatDispute(c.dispute)}`);
      }
    });
  const filters = (c: Command) => c.option('--effect <e>').option('--rule-id <id>').option('--statement-class <c>').option('--resource <name>')
    .option('--identity <subject>').option('--session-id <id>').option('--from <iso>').option('--to <iso>').option('-q, --q <text>', 'text search').option('--flagged')
    .option('--disputed', 'only commands whose verdict the verifier disputed');
  const switches = (o: Record<string, unknown>) => ({ ...o, flagged: o.flagged ? 'true' : undefined, disputed: o.disputed ? 'true' : undefined });
  filters(audit.command('commands').description('list commands with verdict and outcome, newest first'))
    .option('--limit <n>', 'page size', '50').option('--cursor <c>').option('--json')
    .action(async (o) => {
      const page = JSON.parse(await (await apiGet(`/commands${query(switches(o))}`)).text());
      if (o.json) return console.log(JSON.stringify(page, null, 2));
      for (const c of page.items) {
        console.log(`${c.at ?? '-'}  ${c.identity.subject ?? '-'}  ${c.resource ?? '-'}  ${c.verdict.effect ?? 'no verdict'}  ${c.outcome.status ?? '-'}  ${c.text}${c.dispute ? '  DISPUTED' : ''}`);
        if (c.dispute) console.log(`    ${formatDispute(c.dispute)}`);
      }
      if (page.nextCursor) console.log(`-- more: --cursor ${page.nextCursor}`);
    });
  filters(audit.command('export').description('export commands as NDJSON or CSV to stdout'))
    .option('--format <ndjson|csv>', 'output format', 'ndjson')
    .action(async (o) => {
      const res = await apiGet(`/commands/export${query(switches(o))}`, '*/*');
      for await (const chunk of res.body) process.stdout.write(chunk as Buffer);
    });
  audit.command('status').description('how current the views are: lag per partition and seconds behind the newest event')
    .option('--json', 'print JSON')
    .action(async (o) => {
      const status = JSON.parse(await (await apiGet('/status')).text()) as StatusAnswer;
      if (o.json) return console.log(JSON.stringify(status, null, 2));
      console.log(formatStatus(status));
    });
}

interface Dispute {
  reason: string | null; expectedEffect: string | null; decidedBy: string | null; verifiedBy: string | null;
}

/** The line under a disputed command: who issued the verdict, what the verifier would have decided and why. */
export function formatDispute(d: Dispute): string {
  return `DISPUTED by ${d.verifiedBy ?? 'the verifier'}: verdict issued by ${d.decidedBy ?? 'an unknown decider'}, verifier decides ${d.expectedEffect ?? 'nothing (cannot decide under that policy version)'} — ${d.reason ?? ''}`;
}

interface StatusAnswer {
  asOf: string | null;
  projections: {
    projection: string; sampledAt: string | null; lag: number; secondsBehind: number; asOf: string | null;
    partitions: { topic: string; partition: number; position: string; end: string; lag: number; secondsBehind: number; appliedUntil: string | null }[];
  }[];
}

/** One line per projection, then one per partition: what `portcullis audit status` prints. */
export function formatStatus(status: StatusAnswer): string {
  const lines = [`views complete up to ${status.asOf ?? 'unknown (no projection runs in the query API process)'}`];
  for (const p of status.projections) {
    lines.push(`${p.projection}: lag ${p.lag} events, ${p.secondsBehind.toFixed(1)} s behind the newest event (sampled ${p.sampledAt ?? 'never'})`);
    for (const part of p.partitions) {
      lines.push(`  ${part.topic}[${part.partition}]  position ${part.position} of ${part.end}  lag ${part.lag}  ${part.secondsBehind.toFixed(1)} s behind`);
    }
  }
  return lines.join('\n');
}
