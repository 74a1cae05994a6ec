/**
 * SQL for the query API: filters as parameterised WHERE clauses, keyset
 * pagination with an opaque cursor over a stable order (time DESC, id DESC).
 */
import { PortcullisError } from '@portcullis/kit';

/** Audit findings on a command (aliases: c = commands, s = sessions). */
export const commandFlags = `array_remove(ARRAY[
  CASE WHEN c.effect IS NULL THEN 'no-verdict' END,
  CASE WHEN c.status IS NULL AND s.closed_at IS NOT NULL THEN 'no-outcome' END,
  CASE WHEN c.status = 'executed' AND coalesce(c.effect, '') NOT IN ('allow', 'mask') THEN 'executed-without-allow' END,
  CASE WHEN c.dispute_event_id IS NOT NULL THEN 'disputed' END
], NULL)`;

export class Where {
  readonly clauses: string[] = [];
  readonly params: unknown[] = [];
  add(clause: (p: string) => string, value: unknown): this {
    if (value === undefined || value === null || value === '') return this;
    this.params.push(value);
    this.clauses.push(clause(`$${this.params.length}`));
    return this;
  }
  raw(clause: string): this {
    this.clauses.push(clause);
    return this;
  }
  toString(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

export interface Cursor {
  at: string;
  id: string;
}

export function encodeCursor(at: string | null, id: string): string {
  return Buffer.from(JSON.stringify([at ?? '', id])).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): Cursor | undefined {
  if (!cursor) return undefined;
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && typeof id === 'string') return { at, id };
  } catch {
    /* fall through */
  }
  throw new PortcullisError('PCL_ERR_VALIDATION', 'the cursor is not one this API issued; start again without a cursor');
}

export interface CommandFilter {
  effect?: string;
  ruleId?: string;
  statementClass?: string;
  resource?: string;
  identity?: string;
  sessionId?: string;
  from?: string;
  to?: string;
  q?: string;
  flagged?: boolean;
  /** Only commands whose verdict the verifier disputed (true) or none (false). */
  disputed?: boolean;
}

export function commandWhere(f: CommandFilter, cursor?: Cursor): Where {
  const w = new Where()
    .add((p) => `c.effect = ${p}`, f.effect)
    .add((p) => `${p} = ANY(c.rule_ids)`, f.ruleId)
    .add((p) => `${p} = ANY(c.classes)`, f.statementClass)
    .add((p) => `c.resource = ${p}`, f.resource)
    .add((p) => `c.identity_subject = ${p}`, f.identity)
    .add((p) => `c.session_id = ${p}`, f.sessionId)
    .add((p) => `c.at >= ${p}::timestamptz`, f.from)
    .add((p) => `c.at < ${p}::timestamptz`, f.to)
    .add((p) => `c.text ILIKE '%' || replace(replace(replace(${p}, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%'`, f.q);
  if (f.flagged) w.raw(`cardinality(${commandFlags}) > 0`);
  if (f.disputed !== undefined) w.raw(`c.dispute_event_id IS ${f.disputed ? 'NOT ' : ''}NULL`);
  if (cursor) {
    w.params.push(cursor.at, cursor.id);
    w.raw(`(c.at, c.command_id) < ($${w.params.length - 1}::timestamptz, $${w.params.length})`);
  }
  return w;
}

export const commandColumns = `c.command_id, c.session_id, c.seq, c.at, c.at::text AS at_key, c.identity_subject, c.identity_issuer, c.identity_kind,
  c.resource, c.protocol, c.kind, c.text, c.phase, c.statement_name, c.parameters, c.reason, c.effect, c.verdict_final, c.held,
  c.rule_ids, c.reasons, c.classes, c.policy_version, c.approval_id, c.verdict_at, c.status, c.row_count, c.tag, c.error,
  c.duration_ms, c.completed_at, c.trace_id, c.dispute_event_id, c.dispute_at, c.dispute_reason, c.dispute_expected_effect, c.disputed_decided_by,
  c.dispute_verified_by, ${commandFlags} AS flags`;

export function commandsQuery(schema: string, f: CommandFilter, cursor: Cursor | undefined, limit: number | undefined): { text: string; values: unknown[] } {
  const w = commandWhere(f, cursor);
  const lim = limit === undefined ? '' : `LIMIT ${Math.trunc(limit)}`;
  return {
    text: `SELECT ${commandColumns} FROM ${schema}.commands c LEFT JOIN ${schema}.sessions s USING (session_id) ${w} ORDER BY c.at DESC NULLS LAST, c.command_id DESC ${lim}`,
    values: w.params,
  };
}

export interface SessionFilter {
  identity?: string;
  resource?: string;
  protocol?: string;
  from?: string;
  to?: string;
  integrity?: string;
  hadBlocked?: boolean;
  effect?: 'allow' | 'mask' | 'block' | 'hold';
  /** Only sessions with a disputed verdict (true) or none (false). */
  disputed?: boolean;
}

export const sessionColumns = `s.session_id, s.protocol, s.identity_subject, s.identity_issuer, s.identity_kind, s.identity_groups, s.identity_name,
  s.resource, s.resource_kind, s.resource_tags, s.client_address, s.application_name, s.reason, s.started_at, s.started_at::text AS at_key,
  s.opened_at, s.closed_at, s.close_reason, s.duration_ms, s.last_event_at, s.last_seq, s.integrity, s.missing_seq, s.tampered_seq, s.tampered_event_id,
  s.disputed,
  (SELECT count(*) FROM %S.commands c WHERE c.session_id = s.session_id)::int AS command_count,
  (SELECT count(*) FROM %S.commands c WHERE c.session_id = s.session_id AND (c.effect = 'block' OR c.held))::int AS blocked_or_held_count,
  (SELECT count(*) FROM %S.commands c WHERE c.session_id = s.session_id AND cardinality(${commandFlags}) > 0)::int AS flagged_count`;

export function sessionsQuery(schema: string, f: SessionFilter, cursor: Cursor | undefined, limit: number, sessionId?: string): { text: string; values: unknown[] } {
  const w = new Where()
    .add((p) => `s.identity_subject = ${p}`, f.identity)
    .add((p) => `s.resource = ${p}`, f.resource)
    .add((p) => `s.protocol = ${p}`, f.protocol)
    .add((p) => `s.started_at >= ${p}::timestamptz`, f.from)
    .add((p) => `s.started_at < ${p}::timestamptz`, f.to)
    .add((p) => `s.integrity = ${p}`, f.integrity)
    .add((p) => `s.session_id = ${p}`, sessionId);
  if (f.disputed !== undefined) w.raw(`${f.disputed ? '' : 'NOT '}s.disputed`);
  if (f.hadBlocked !== undefined) {
    w.raw(`${f.hadBlocked ? '' : 'NOT '}EXISTS (SELECT 1 FROM ${schema}.commands b WHERE b.session_id = s.session_id AND (b.effect = 'block' OR b.held))`);
  }
  // A held command's effect is its final one (allow once granted): "hold" means it was held.
  if (f.effect === 'hold') w.raw(`EXISTS (SELECT 1 FROM ${schema}.commands e WHERE e.session_id = s.session_id AND e.held)`);
  else w.add((p) => `EXISTS (SELECT 1 FROM ${schema}.commands e WHERE e.session_id = s.session_id AND e.effect = ${p})`, f.effect);
  if (cursor) {
    w.params.push(cursor.at, cursor.id);
    w.raw(`(s.started_at, s.session_id) < ($${w.params.length - 1}::timestamptz, $${w.params.length})`);
  }
  return {
    text: `SELECT ${sessionColumns.replaceAll('%S', schema)} FROM ${schema}.sessions s ${w} ORDER BY s.started_at DESC NULLS LAST, s.session_id DESC LIMIT ${Math.trunc(limit)}`,
    values: w.params,
  };
}
