/**
 * A session's transcript from its stored events, and its renderings: psql's
 * aligned output with the gateway's decisions marked, and asciicast v2.
 */
import type { CommandRequested, OutputRecorded, SessionTopicEvent, VerdictIssued } from '@portcullis/schemas';
import { commandText } from '@portcullis/schemas';

type Stored = SessionTopicEvent | CommandRequested | VerdictIssued;

export interface TranscriptEntry {
  seq: number | null;
  commandId: string;
  at: string;
  text: string;
  phase: string | null;
  statementName: string | null;
  parameters: (string | null)[] | null;
  verdict: { effect: string; ruleIds: string[]; reasons: string[]; final: boolean } | null;
  outcome: { status: string; rows: number | null; tag: string | null; error: string | null; durationMs: number } | null;
  results: { columns: string[]; rows: (string | null)[][]; truncated: boolean }[];
  /** HTTP: the recorded excerpt of the response body (masked as the caller got it, then scrubbed by the detectors). */
  response: { text: string; truncated: boolean } | null;
}

export interface Transcript {
  sessionId: string;
  protocol: string | null;
  identity: { subject: string; kind: string } | null;
  resource: string | null;
  openedAt: string | null;
  closedAt: string | null;
  entries: TranscriptEntry[];
  /** Terminal recording (SSH), when the session has stream output. */
  hasRecording: boolean;
}

const bySeq = (a: { seq?: number | null; occurredAt: string }, b: { seq?: number | null; occurredAt: string }): number =>
  (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.occurredAt.localeCompare(b.occurredAt);

export function buildTranscript(sessionId: string, events: Stored[]): Transcript {
  const sorted = [...events].sort(bySeq);
  const t: Transcript = { sessionId, protocol: null, identity: null, resource: null, openedAt: null, closedAt: null, entries: [], hasRecording: false };
  const entries = new Map<string, TranscriptEntry>();
  const entry = (commandId: string, at: string): TranscriptEntry => {
    let e = entries.get(commandId);
    if (!e) {
      e = { seq: null, commandId, at, text: '', phase: null, statementName: null, parameters: null, verdict: null, outcome: null, results: [], response: null };
      entries.set(commandId, e);
    }
    return e;
  };
  for (const ev of sorted) {
    switch (ev.type) {
      case 'SessionOpened':
        Object.assign(t, { protocol: ev.protocol, identity: { subject: ev.identity.subject, kind: ev.identity.kind }, resource: ev.resource.name, openedAt: ev.occurredAt });
        break;
      case 'SessionClosed':
        t.closedAt = ev.occurredAt;
        break;
      case 'CommandRequested': {
        const e = entry(ev.commandId, ev.occurredAt);
        const c = ev.command;
        Object.assign(e, {
          seq: ev.seq, at: ev.occurredAt, text: commandText(c), phase: c.kind === 'sql' ? c.phase : null,
          statementName: c.kind === 'sql' ? c.statementName ?? null : null, parameters: c.kind === 'sql' ? c.parameters ?? null : null,
        });
        t.protocol ??= ev.protocol;
        t.resource ??= ev.resource.name;
        t.identity ??= { subject: ev.identity.subject, kind: ev.identity.kind };
        break;
      }
      case 'VerdictIssued': {
        const e = entry(ev.commandId, ev.occurredAt);
        // The final verdict wins over a provisional hold; among equals the later one.
        if (!e.verdict || (ev.final && !e.verdict.final) || ev.final === e.verdict.final) {
          e.verdict = { effect: ev.effect, ruleIds: ev.ruleIds, reasons: ev.reasons, final: ev.final };
        }
        break;
      }
      case 'CommandCompleted':
        entry(ev.commandId, ev.occurredAt).outcome = { status: ev.status, rows: ev.rows ?? null, tag: ev.tag ?? null, error: ev.error ?? null, durationMs: ev.durationMs };
        break;
      case 'OutputRecorded':
        if (ev.format === 'stream') t.hasRecording = true;
        if (ev.format === 'rows' && ev.commandId) entry(ev.commandId, ev.occurredAt).results.push({ columns: ev.columns ?? [], rows: ev.rows ?? [], truncated: ev.truncated });
        if (ev.format === 'http' && ev.commandId) entry(ev.commandId, ev.occurredAt).response = { text: ev.text ?? '', truncated: ev.truncated };
        break;
    }
  }
  t.entries = [...entries.values()].sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity) || a.at.localeCompare(b.at));
  return t;
}

const EFFECT_WORD: Record<string, string> = { allow: 'ALLOWED', mask: 'MASKED', block: 'BLOCKED', hold: 'HELD' };

export function decisionLine(v: TranscriptEntry['verdict']): string {
  if (!v) return '-- portcullis: NO VERDICT recorded';
  const rules = v.ruleIds.length ? ` by rule ${v.ruleIds.join(', ')}` : '';
  const reasons = v.reasons.length ? `: ${v.reasons.join('; ')}` : '';
  return `-- portcullis: ${EFFECT_WORD[v.effect] ?? v.effect.toUpperCase()}${rules}${reasons}${v.final ? '' : ' (provisional)'}`;
}

const isNumeric = (v: string | null): boolean => v === null || /^-?\d+(\.\d+)?$/.test(v);
const width = (s: string): number => [...s].length;
const pad = (s: string, n: number, right: boolean): string => (right ? ' '.repeat(n - width(s)) + s : s + ' '.repeat(n - width(s)));

/** psql's default aligned format: centred headers, numbers right-aligned, "(n rows)" footer. */
export function psqlTable(columns: string[], rows: (string | null)[][]): string {
  const cells = rows.map((r) => columns.map((_, i) => r[i] ?? ''));
  const widths = columns.map((c, i) => Math.max(width(c), ...cells.map((r) => width(r[i]!))));
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => isNumeric(r[i] ?? null)));
  const header = columns.map((c, i) => {
    const left = Math.floor((widths[i]! - width(c)) / 2);
    return ' '.repeat(left) + c + ' '.repeat(widths[i]! - width(c) - left);
  });
  const lines = [
    ` ${header.join(' | ')} `.trimEnd(),
    widths.map((w) => '-'.repeat(w + 2)).join('+'),
    ...cells.map((r) => ` ${r.map((v, i) => pad(v, widths[i]!, numeric[i]!)).join(' | ')} `.trimEnd()),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
  ];
  return lines.join('\n');
}

export function renderPsql(t: Transcript): string {
  const prompt = `${t.resource ?? 'db'}=> `;
  const out: string[] = [
    `-- portcullis replay of session ${t.sessionId}: ${t.identity?.subject ?? 'unknown'} on ${t.resource ?? 'unknown'} (${t.protocol ?? 'unknown'})` +
      `${t.openedAt ? `, opened ${t.openedAt}` : ''}${t.closedAt ? `, closed ${t.closedAt}` : ''}`,
    '',
  ];
  for (const e of t.entries) {
    out.push(decisionLine(e.verdict));
    const text = e.text.trimEnd();
    out.push(`${prompt}${text}${t.protocol === 'postgres' && !text.endsWith(';') ? ';' : ''}`);
    if (e.parameters?.length) out.push(`-- parameters: ${e.parameters.map((p, i) => `$${i + 1} = ${p === null ? 'NULL' : `'${p.replaceAll("'", "''")}'`}`).join(', ')}`);
    for (const r of e.results) {
      out.push(psqlTable(r.columns, r.rows));
      if (r.truncated) out.push('-- portcullis: result truncated in the recording');
    }
    if (e.outcome?.error) out.push(`ERROR:  ${e.outcome.error}`);
    else if (e.outcome?.status === 'refused') out.push('-- portcullis: not run (refused by the gateway)');
    else if (e.outcome && e.results.length === 0 && e.outcome.tag) out.push(e.outcome.tag);
    else if (!e.outcome) out.push('-- portcullis: no outcome recorded');
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

/** asciicast v2: a header line, then [time, code, data] per line, from the session's stream output in seq order. */
export function renderCast(t: Transcript, outputs: OutputRecorded[]): string {
  // A resize to zero columns or rows is "size not given" (RFC 4254 §6.2; recorded before the SSH proxy dropped them):
  // a player would draw a terminal of no size, so it is left out and the default 80x24 stands.
  const sized = (data: string): [number, number] | undefined => {
    const m = /^(\d+)x(\d+)$/.exec(data);
    return m && Number(m[1]) > 0 && Number(m[2]) > 0 ? [Number(m[1]), Number(m[2])] : undefined;
  };
  const stream = outputs.filter((o) => o.format === 'stream').sort(bySeq).flatMap((o) => o.stream ?? []).filter(([, code, data]) => code !== 'r' || sized(data) !== undefined);
  let widthCols = 80;
  let heightRows = 24;
  const resize = stream.find(([, code]) => code === 'r');
  if (resize) [widthCols, heightRows] = sized(resize[2])!;
  const header = {
    version: 2, width: widthCols, height: heightRows,
    timestamp: Math.floor(Date.parse(t.openedAt ?? outputs[0]?.occurredAt ?? new Date(0).toISOString()) / 1000),
    title: `portcullis session ${t.sessionId}`,
  };
  return `${[JSON.stringify(header), ...stream.map((e) => JSON.stringify(e))].join('\n')}\n`;
}
