/**
 * SQL analysis with the real PostgreSQL parser (libpg_query compiled to WASM).
 * Every statement of a multi-statement string is classified on its parse
 * tree; comments, case, quoting, Unicode escapes and dollar quotes are the
 * parser's business, so they cannot change a classification. Whatever the
 * analysis cannot understand makes the command unparseable, which blocks it.
 */
import { loadModule, parseSync, parsePlPgSQLSync, scanSync } from '@libpg-query/parser';
import type { ColumnRef, SqlAnalysis, SqlClass, SqlStatementAnalysis, Unparseable } from './types.ts';
import { isAlwaysTrue, evaluateConstant } from './sql-constant.ts';
import { judgeSettingChange, type SettingChange, type SettingJudgement } from '@portcullis/kit';
import { classifyFunction } from './sql-functions.ts';
import { LruCache } from '../lru-cache.ts';

/** Per-session state the caller keeps between commands: prepared statements by name. */
export interface SqlSessionState {
  prepared: ReadonlyMap<string, string>;
}

export const emptySqlSession = (): SqlSessionState => ({ prepared: new Map() });

/** Marks "any table" or "every column" in a ColumnRef. */
export const ANY = '*';

/** Dynamic SQL inside dynamic SQL inside … is cut off here and treated as unparseable. */
const MAX_DEPTH = 8;

let loaded: Promise<void> | undefined;
/** Loads the parser's WASM module once; analyzeSql awaits it, the sync functions need it done. */
export function loadSqlParser(): Promise<void> {
  loaded ??= loadModule();
  return loaded;
}

export async function analyzeSql(text: string, session: SqlSessionState = emptySqlSession()): Promise<SqlAnalysis | Unparseable> {
  await loadSqlParser();
  return analyzeSqlSync(text, session);
}

/** Sync variant for callers that awaited loadSqlParser() (the benchmark, dynamic SQL recursion). */
export function analyzeSqlSync(text: string, session: SqlSessionState = emptySqlSession()): SqlAnalysis | Unparseable {
  try {
    return { ok: true, kind: 'sql', statements: analyzeText(text, session, 0) };
  } catch (error) {
    if (error instanceof UnparseableSql) return { ok: false, error: error.message, ...(error.syntaxError ? { syntaxError: error.syntaxError } : {}) };
    return { ok: false, error: `analysis failed: ${(error as Error).message}` };
  }
}

/**
 * The session after the statements ran: PREPARE adds, DEALLOCATE removes.
 * Call it only for commands that were executed (a blocked PREPARE prepares nothing).
 */
export function advanceSqlSession(session: SqlSessionState, analysis: SqlAnalysis): SqlSessionState {
  let prepared: Map<string, string> | undefined;
  for (const s of analysis.statements) {
    if (s.prepares) (prepared ??= new Map(session.prepared)).set(s.prepares.name, s.prepares.text);
    if (s.deallocates) {
      prepared ??= new Map(session.prepared);
      if (s.deallocates.all) prepared.clear();
      else if (s.deallocates.name !== undefined) prepared.delete(s.deallocates.name);
    }
  }
  return prepared ? { prepared } : session;
}

// ---------------------------------------------------------------- internals

class UnparseableSql extends Error {
  constructor(
    message: string,
    /** Set when PostgreSQL's parser rejected the statement text the caller sent (not an inner, dynamic one). */
    readonly syntaxError?: { message: string; position?: number },
  ) {
    super(message);
  }
}

/** What libpg-query's parse error carries (SqlError.sqlDetails); cursorPosition counts characters from 0. */
interface ParserErrorDetails {
  message?: unknown;
  cursorPosition?: unknown;
}

// The parser's tree is untyped JSON walked generically; each use checks the shape it needs.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Node = Record<string, any>;

/** The single key of a parse-tree node wrapper `{ SelectStmt: {…} }`. */
function unwrap(node: unknown): [string, Node] | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const inner = (node as Node)[keys[0]!];
  return inner && typeof inner === 'object' && !Array.isArray(inner) ? [keys[0]!, inner as Node] : undefined;
}

const sval = (node: unknown): string | undefined => (node as { String?: { sval?: string } } | undefined)?.String?.sval;

/**
 * Parse trees by text, least recently used first out. The WASM parser costs
 * ~40 µs for a short statement and applications repeat their statements
 * (parameters travel separately), so the PDP keeps recent trees. Trees are
 * never mutated. Errors are not cached. Size 0 turns the cache off.
 */
const parseCache = new LruCache<string, Node>(2000);
const MAX_CACHED_TEXT = 8192;

export function configureSqlParseCache(entries: number): void {
  parseCache.resize(entries);
}

/**
 * The parse tree of `text`. `topLevel` says the text is what the caller sent
 * (not SQL found inside it), so a parse error is the one the target would
 * answer with: it carries PostgreSQL's message and 1-based position.
 */
function parse(text: string, topLevel: boolean): Node {
  // PostgreSQL reads an empty string as no statement (EmptyQueryResponse); libpg-query's wrapper refuses it.
  if (text === '') return { stmts: [] };
  const cached = parseCache.get(text);
  if (cached) return cached;
  let tree: Node;
  try {
    tree = parseSync(text) as unknown as Node;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0] || 'syntax error';
    const details = (error as { sqlDetails?: ParserErrorDetails }).sqlDetails;
    const cursor = details?.cursorPosition;
    const syntaxError = topLevel && details
      ? { message: typeof details.message === 'string' && details.message ? details.message : message, ...(typeof cursor === 'number' && Number.isInteger(cursor) && cursor >= 0 ? { position: cursor + 1 } : {}) }
      : undefined;
    throw new UnparseableSql(message, syntaxError);
  }
  if (text.length <= MAX_CACHED_TEXT) parseCache.set(text, tree);
  return tree;
}

function analyzeText(text: string, session: SqlSessionState, depth: number): SqlStatementAnalysis[] {
  if (depth > MAX_DEPTH) throw new UnparseableSql('dynamic SQL nested too deeply');
  const tree = parse(text, depth === 0);
  const bytes = Buffer.from(text, 'utf8');
  const prepared = new Map(session.prepared);
  const out: SqlStatementAnalysis[] = [];
  for (const raw of (tree.stmts as Node[]) ?? []) {
    const start = (raw.stmt_location as number | undefined) ?? 0;
    const len = (raw.stmt_len as number | undefined) || bytes.length - start;
    const stmtText = bytes.subarray(start, start + len).toString('utf8').trim();
    const analysis = analyzeStatement(raw.stmt, stmtText, { prepared }, depth);
    if (analysis.prepares) prepared.set(analysis.prepares.name, analysis.prepares.text);
    if (analysis.deallocates?.all) prepared.clear();
    else if (analysis.deallocates?.name !== undefined) prepared.delete(analysis.deallocates.name);
    out.push(analysis);
  }
  return out;
}

interface Entry {
  /** Names the entry answers to: its alias, or its relation name (and schema.relation). */
  names: string[];
  /** Tables whose columns the entry exposes (one for a table, several for an aliased join, none for derived). */
  tables: string[];
}

interface Scope {
  entries: Entry[];
  ctes: Set<string>;
  parent: Scope | undefined;
}

const newScope = (parent: Scope | undefined): Scope => ({ entries: [], ctes: new Set(), parent });

class StatementCollector {
  readonly classes = new Set<SqlClass>();
  readonly tables = new Set<string>();
  readonly functions = new Set<string>();
  readonly columns: ColumnRef[] = [];
  readonly settings = new Set<string>();
  refused: string | undefined;
  private readonly columnKeys = new Set<string>();
  opaque = false;

  constructor(
    private readonly session: SqlSessionState,
    private readonly depth: number,
  ) {}

  column(table: string, column: string, plain: boolean): void {
    if (table === ANY || column === ANY || !plain) this.opaque ||= table === ANY || column === ANY;
    const key = `${table}\u0000${column}\u0000${plain}`;
    if (this.columnKeys.has(key)) return;
    this.columnKeys.add(key);
    this.columns.push({ table, column, plain });
  }

  /** A change of a run-time setting: harmless ones are `session-setting`, others `session-change`, pinned ones refused. */
  setting(judged: SettingJudgement): void {
    this.settings.add(judged.name);
    this.classes.add(judged.effect === 'harmless' ? 'session-setting' : 'session-change');
    if (judged.effect === 'pinned') this.refused ??= judged.reason;
  }

  reachesEverything(): void {
    this.opaque = true;
    this.column(ANY, ANY, false);
  }

  /** Judges SQL text found inside this statement (a literal EXECUTE string, a PL/pgSQL statement). */
  nested(text: string): SqlStatementAnalysis[] {
    const statements = analyzeText(text, this.session, this.depth + 1);
    for (const s of statements) this.merge(s, false);
    return statements;
  }

  merge(s: SqlStatementAnalysis, keepPlain: boolean): void {
    for (const c of s.classes) this.classes.add(c);
    for (const t of s.tables) this.tables.add(t);
    for (const f of s.functions) this.functions.add(f);
    for (const c of s.columns) this.column(c.table, c.column, keepPlain && c.plain);
    for (const name of s.settings ?? []) this.settings.add(name);
    this.refused ??= s.refused;
    this.opaque ||= s.opaqueOutput;
  }

  get depthLevel(): number {
    return this.depth;
  }
}

const qualified = (rv: Node): string => (rv.schemaname ? `${rv.schemaname}.${rv.relname}` : String(rv.relname));

/** Base classes by statement kind; what the walk finds inside (functions, nested writes) is added to these. */
const DCL_KINDS = new Set([
  'GrantStmt',
  'GrantRoleStmt',
  'CreateRoleStmt',
  'AlterRoleStmt',
  'AlterRoleSetStmt',
  'DropRoleStmt',
  'AlterDefaultPrivilegesStmt',
  'ReassignOwnedStmt',
  'DropOwnedStmt',
  'AlterOwnerStmt',
]);
const UTILITY_KINDS = new Set([
  'VacuumStmt',
  'ClusterStmt',
  'ReindexStmt',
  'LockStmt',
  'ListenStmt',
  'UnlistenStmt',
  'NotifyStmt',
  'ClosePortalStmt',
  'VariableShowStmt',
]);

function analyzeStatement(stmt: unknown, text: string, session: SqlSessionState, depth: number): SqlStatementAnalysis {
  const entry = unwrap(stmt);
  if (!entry) throw new UnparseableSql('empty parse tree');
  const [kind, body] = entry;
  const c = new StatementCollector(session, depth);
  const walker = new Walker(c);
  const result: SqlStatementAnalysis = { text, kind, classes: [], tables: [], functions: [], columns: [], opaqueOutput: false };

  switch (kind) {
    case 'SelectStmt':
      c.classes.add(body.intoClause ? 'ddl' : 'read');
      walker.select(body, undefined, true);
      break;
    case 'InsertStmt':
    case 'UpdateStmt':
    case 'DeleteStmt':
    case 'MergeStmt':
      walker.dml(kind, body, undefined, true);
      break;
    case 'TruncateStmt':
      c.classes.add('write').add('unbounded-write');
      walker.walk(body, undefined);
      break;
    case 'CopyStmt': {
      c.classes.add(body.is_from ? 'write' : 'read');
      if (body.filename !== undefined || body.is_program) c.classes.add('file-access');
      if (body.relation) {
        const table = qualified(body.relation);
        c.tables.add(table);
        const cols = (body.attlist as unknown[] | undefined)?.map(sval).filter((x): x is string => !!x);
        if (!body.is_from) {
          if (cols?.length) for (const col of cols) c.column(table, col, false);
          else c.column(table, ANY, false);
        }
      }
      if (body.query) walker.walk(body.query, undefined);
      walker.walk(body.whereClause, undefined);
      break;
    }
    case 'VariableSetStmt':
      variableSet(body, c);
      break;
    case 'DiscardStmt':
      c.classes.add(body.target === 'DISCARD_ALL' ? 'session-change' : 'utility');
      break;
    case 'TransactionStmt':
    case 'ConstraintsSetStmt':
      c.classes.add('transaction');
      break;
    case 'PrepareStmt': {
      c.classes.add('prepare');
      const queryText = textAfterAs(text);
      const inner = c.nested(queryText);
      if (inner.length !== 1) throw new UnparseableSql('PREPARE must hold exactly one statement');
      result.prepares = { name: String(body.name ?? ''), text: queryText };
      break;
    }
    case 'ExecuteStmt': {
      const name = String(body.name ?? '');
      const preparedText = session.prepared.get(name);
      if (preparedText === undefined) throw new UnparseableSql(`EXECUTE of unknown prepared statement "${name}"`);
      const inner = analyzeText(preparedText, session, depth + 1);
      // The result set is the prepared statement's own, so its plain column references stay plain.
      for (const s of inner) c.merge(s, true);
      walker.walk(body.params, undefined);
      result.executes = { name };
      break;
    }
    case 'DeallocateStmt':
      c.classes.add('prepare');
      result.deallocates = body.isall ? { all: true } : { name: String(body.name ?? '') };
      break;
    case 'DoStmt':
      c.classes.add('dynamic-sql');
      analyzeDoBlock(body, c);
      break;
    case 'CallStmt':
      c.classes.add('routine-call');
      walker.walk(body.funccall, undefined);
      c.reachesEverything();
      break;
    case 'ExplainStmt':
    case 'DeclareCursorStmt':
    case 'CreateTableAsStmt': {
      // EXPLAIN ANALYZE runs the statement; a cursor or CREATE TABLE AS runs its query: judge what is inside.
      if (kind === 'CreateTableAsStmt') {
        c.classes.add('ddl');
        walker.walk(body.into, undefined);
      }
      const inner = unwrap(body.query);
      if (inner) {
        const nested = analyzeStatement(body.query, text, session, depth + 1);
        c.merge(nested, false);
      }
      break;
    }
    case 'FetchStmt':
      c.classes.add('read');
      break;
    case 'LoadStmt':
      c.classes.add('file-access').add('admin-function');
      break;
    case 'AlterSystemStmt':
      c.classes.add('ddl').add('admin-function');
      variableSet(body.setstmt ?? {}, c);
      break;
    case 'CheckPointStmt':
      c.classes.add('admin-function');
      break;
    case 'RefreshMatViewStmt':
      c.classes.add('write');
      walker.walk(body, undefined);
      break;
    case 'CreateSubscriptionStmt':
    case 'AlterSubscriptionStmt':
      c.classes.add('ddl').add('remote-execution');
      break;
    case 'AlterDatabaseSetStmt':
      // A default for every later session of the database (or role, below): judged as the setting itself.
      c.classes.add('ddl');
      variableSet(body.setstmt ?? {}, c);
      break;
    case 'AlterRoleSetStmt':
      c.classes.add('dcl');
      variableSet(body.setstmt ?? {}, c);
      break;
    default:
      if (DCL_KINDS.has(kind)) c.classes.add('dcl');
      else if (UTILITY_KINDS.has(kind)) c.classes.add('utility');
      // Everything else defines or changes schema objects; unknown kinds land here too and fail closed.
      else c.classes.add('ddl');
      walker.walk(body, undefined);
  }

  result.classes = [...c.classes];
  result.tables = [...c.tables];
  result.functions = [...c.functions];
  result.columns = c.columns;
  result.opaqueOutput = c.opaque;
  if (c.settings.size > 0) result.settings = [...c.settings];
  if (c.refused !== undefined) result.refused = c.refused;
  return result;
}

/** The value a SET gives, as PostgreSQL would put it together (a list joins with ", "); undefined when not constant. */
function settingValue(args: unknown[] | undefined): SettingChange {
  const parts: string[] = [];
  for (const arg of args ?? []) {
    const value = evaluateConstant(arg);
    if (value === undefined || value === null || typeof value === 'object') return { kind: 'set-unknown' };
    parts.push(typeof value === 'boolean' ? (value ? 'on' : 'off') : String(value));
  }
  return parts.length === 0 ? { kind: 'set-unknown' } : { kind: 'set', value: parts.join(', ') };
}

/**
 * SET / SET LOCAL / RESET / SET … TO DEFAULT and their special forms (SET
 * TIME ZONE, SET NAMES, SET SCHEMA, SET ROLE, SET SESSION AUTHORIZATION,
 * SET TRANSACTION …, SET SESSION CHARACTERISTICS …), judged setting by
 * setting by the gateway's one list of settings.
 */
function variableSet(body: Node, c: StatementCollector): void {
  const name = body.name === undefined ? undefined : String(body.name);
  switch (body.kind) {
    case 'VAR_RESET_ALL':
      // Undoes every setting a rule allowed earlier (a narrower search_path, a lower limit): a change in itself.
      c.settings.add('*');
      c.classes.add('session-change');
      return;
    case 'VAR_SET_MULTI': {
      if (name === 'TRANSACTION' || name === 'SESSION CHARACTERISTICS') {
        const prefix = name === 'TRANSACTION' ? '' : 'default_';
        for (const arg of (body.args as unknown[]) ?? []) {
          const def = unwrap(arg);
          if (!def || def[0] !== 'DefElem') throw new UnparseableSql(`unexpected ${name} setting`);
          c.setting(judgeSettingChange(`${prefix}${String(def[1].defname)}`, settingValue([def[1].arg])));
        }
        return;
      }
      // SET TRANSACTION SNAPSHOT: another transaction's view of the data.
      c.setting(judgeSettingChange('transaction_snapshot', settingValue(body.args as unknown[])));
      return;
    }
    case 'VAR_SET_CURRENT':
      // SET name FROM CURRENT keeps the current value: no change.
      if (name !== undefined) c.settings.add(name.toLowerCase());
      c.classes.add('session-setting');
      return;
    case 'VAR_SET_DEFAULT':
    case 'VAR_RESET':
      c.setting(judgeSettingChange(name, { kind: 'reset' }));
      return;
    case 'VAR_SET_VALUE':
      c.setting(judgeSettingChange(name, settingValue(body.args as unknown[])));
      return;
    default:
      throw new UnparseableSql(`unknown SET form ${String(body.kind)}`);
  }
}

/** The query of `PREPARE name [(types)] AS query`, found with the SQL scanner. */
function textAfterAs(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  let depth = 0;
  for (const token of scanSync(text).tokens) {
    if (token.text === '(') depth++;
    else if (token.text === ')') depth--;
    else if (depth === 0 && token.keywordKind > 0 && token.text.toUpperCase() === 'AS') {
      return bytes.subarray(token.end).toString('utf8').replace(/;\s*$/, '').trim();
    }
  }
  throw new UnparseableSql('PREPARE without AS');
}

/** PL/pgSQL statement fields whose expression is SQL text to run (EXECUTE, FOR … IN EXECUTE, OPEN … FOR EXECUTE, RETURN QUERY EXECUTE). */
const DYNAMIC_QUERY_FIELDS: Record<string, string> = {
  PLpgSQL_stmt_dynexecute: 'query',
  PLpgSQL_stmt_dynfors: 'query',
  PLpgSQL_stmt_open: 'dynquery',
  PLpgSQL_stmt_return_query: 'dynquery',
};

function analyzeDoBlock(body: Node, c: StatementCollector): void {
  let source: string | undefined;
  let language = 'plpgsql';
  for (const arg of (body.args as unknown[]) ?? []) {
    const def = unwrap(arg);
    if (!def || def[0] !== 'DefElem') continue;
    if (def[1].defname === 'as') source = sval(def[1].arg);
    if (def[1].defname === 'language') language = (sval(def[1].arg) ?? '').toLowerCase();
  }
  if (source === undefined) throw new UnparseableSql('DO without a body');
  if (language !== 'plpgsql') {
    // Another procedural language: we cannot see what it runs.
    c.classes.add('non-literal-dynamic-sql');
    c.reachesEverything();
    return;
  }
  let tag = '$portcullis$';
  for (let i = 0; source.includes(tag.slice(0, -1)); i++) tag = `$portcullis${i}$`;
  let tree: unknown;
  try {
    tree = parsePlPgSQLSync(`CREATE FUNCTION portcullis_do_block() RETURNS void LANGUAGE plpgsql AS ${tag}${source}${tag}`);
  } catch (error) {
    throw new UnparseableSql(`PL/pgSQL: ${(error as Error).message.split('\n')[0]}`);
  }
  visitPlpgsql(tree, false, c);
}

function visitPlpgsql(value: unknown, dynamic: boolean, c: StatementCollector): void {
  if (Array.isArray(value)) {
    for (const v of value) visitPlpgsql(v, false, c);
    return;
  }
  if (!value || typeof value !== 'object') return;
  for (const [key, v] of Object.entries(value)) {
    if (key === 'PLpgSQL_expr') plpgsqlExpression(v as Node, dynamic, c);
    else if (key in DYNAMIC_QUERY_FIELDS && v && typeof v === 'object') {
      for (const [field, fv] of Object.entries(v)) visitPlpgsql(fv, field === DYNAMIC_QUERY_FIELDS[key], c);
    } else visitPlpgsql(v, false, c);
  }
}

/** One SQL expression or statement of a PL/pgSQL body (see PLpgSQL_expr.parseMode in PostgreSQL's parser.h). */
function plpgsqlExpression(expr: Node, dynamic: boolean, c: StatementCollector): void {
  const query = String(expr.query ?? '');
  const mode = (expr.parseMode as number | undefined) ?? 0;
  let sql: string;
  if (mode === 0) sql = query;
  else if (mode === 2) sql = `SELECT ${query}`;
  else if (mode >= 3 && mode <= 5) sql = `SELECT ${afterAssignment(query)}`;
  else throw new UnparseableSql(`PL/pgSQL expression mode ${mode}`);
  c.nested(sql);
  if (!dynamic) return;
  const target = unwrap(parse(sql, false).stmts?.[0]?.stmt);
  const value = target?.[0] === 'SelectStmt' ? evaluateConstant(unwrap(target[1].targetList?.[0])?.[1].val) : undefined;
  if (typeof value === 'string') {
    c.classes.add('dynamic-sql');
    c.nested(value);
  } else {
    c.classes.add('non-literal-dynamic-sql');
    c.reachesEverything();
  }
}

/** The expression of a PL/pgSQL assignment `target := expr` (or `target = expr`), split with the SQL scanner. */
function afterAssignment(query: string): string {
  const bytes = Buffer.from(query, 'utf8');
  let depth = 0;
  for (const token of scanSync(query).tokens) {
    if (token.text === '(' || token.text === '[') depth++;
    else if (token.text === ')' || token.text === ']') depth--;
    else if (depth === 0 && (token.text === ':=' || token.text === '=')) return bytes.subarray(token.end).toString('utf8');
  }
  throw new UnparseableSql('PL/pgSQL assignment without :=');
}

/**
 * Walks a statement's tree: collects tables (RangeVar), functions (FuncCall),
 * nested writes, and column references resolved through FROM-clause scopes.
 * A column reference is plain only when it is, by itself, an entry of the
 * outermost target list (or RETURNING list); anything else is derived.
 */
class Walker {
  constructor(private readonly c: StatementCollector) {}

  walk(node: unknown, scope: Scope | undefined): void {
    if (node === null || node === undefined || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) this.walk(n, scope);
      return;
    }
    for (const [key, value] of Object.entries(node as Node)) {
      if (!value || typeof value !== 'object') continue;
      switch (key) {
        case 'SelectStmt':
          this.select(value, scope, false);
          break;
        case 'InsertStmt':
        case 'UpdateStmt':
        case 'DeleteStmt':
        case 'MergeStmt':
          this.dml(key, value, scope, false);
          break;
        case 'ColumnRef':
          this.columnRef(value, scope, false);
          break;
        case 'RangeVar':
          this.c.tables.add(qualified(value));
          break;
        case 'FuncCall':
          this.funcCall(value, scope);
          break;
        default:
          this.walk(value, scope);
      }
    }
  }

  private funcCall(call: Node, scope: Scope | undefined): void {
    const parts = ((call.funcname as unknown[]) ?? []).map(sval).filter((x): x is string => x !== undefined);
    const name = parts.join('.');
    this.c.functions.add(name);
    const fc = classifyFunction(parts);
    for (const cls of fc.classes) this.c.classes.add(cls);
    if (fc.reachesEverything) this.c.reachesEverything();
    const bare = (parts[parts.length - 1] ?? '').toLowerCase();
    const args = (call.args as unknown[]) ?? [];
    if (fc.runsQueryText) {
      const text = evaluateConstant(args[0]);
      if (typeof text === 'string') {
        this.c.classes.add('dynamic-sql');
        this.c.nested(text);
      } else this.c.classes.add('non-literal-dynamic-sql');
    }
    if (bare === 'set_config' && fc.classes.length === 0 && !fc.reachesEverything) {
      // set_config(name, value, is_local) wherever it appears; a NULL value resets, like RESET.
      const setting = evaluateConstant(args[0]);
      const value = evaluateConstant(args[1]);
      const change: SettingChange = value === null ? { kind: 'reset' } : typeof value === 'string' ? { kind: 'set', value } : { kind: 'set-unknown' };
      this.c.setting(judgeSettingChange(typeof setting === 'string' ? setting : undefined, change));
    }
    this.walk(call.args, scope);
    this.walk(call.agg_order, scope);
    this.walk(call.agg_filter, scope);
    this.walk(call.over, scope);
  }

  private withClause(withClause: Node | undefined, scope: Scope): void {
    for (const cte of (withClause?.ctes as unknown[]) ?? []) {
      const def = unwrap(cte);
      if (!def) continue;
      const name = String(def[1].ctename);
      if (withClause!.recursive) scope.ctes.add(name);
      this.walk(def[1].ctequery, scope);
      scope.ctes.add(name);
    }
  }

  select(s: Node, parent: Scope | undefined, top: boolean): void {
    const scope = newScope(parent);
    this.withClause(s.withClause, scope);
    if (s.op && s.op !== 'SETOP_NONE') {
      // Set operations: the output is derived from both sides.
      if (s.larg) this.select(s.larg, scope, false);
      if (s.rarg) this.select(s.rarg, scope, false);
      this.walk([s.sortClause, s.limitCount, s.limitOffset], scope);
      return;
    }
    this.walk(s.valuesLists, scope);
    for (const item of (s.fromClause as unknown[]) ?? []) this.fromItem(item, scope);
    this.targetList(s.targetList, scope, top);
    if (s.intoClause) this.walk(s.intoClause, scope);
    this.walk([s.whereClause, s.groupClause, s.havingClause, s.sortClause, s.windowClause, s.distinctClause, s.limitCount, s.limitOffset], scope);
  }

  private targetList(list: unknown, scope: Scope, top: boolean): void {
    for (const item of (list as unknown[]) ?? []) {
      const rt = unwrap(item);
      if (!rt || rt[0] !== 'ResTarget') {
        this.walk(item, scope);
        continue;
      }
      const val = unwrap(rt[1].val);
      if (top && val?.[0] === 'ColumnRef') this.columnRef(val[1], scope, true);
      else this.walk(rt[1].val, scope);
      this.walk(rt[1].indirection, scope);
    }
  }

  dml(kind: string, s: Node, parent: Scope | undefined, top: boolean): void {
    const c = this.c;
    c.classes.add('write');
    const scope = newScope(parent);
    this.withClause(s.withClause, scope);
    if (kind === 'InsertStmt') this.walk(s.selectStmt, scope);
    const target = s.relation as Node | undefined;
    if (target && String(target.relname).toLowerCase() === 'pg_settings' && (!target.schemaname || String(target.schemaname).toLowerCase() === 'pg_catalog')) {
      // The pg_settings view's rules call set_config() for each row the statement touches.
      c.setting({ name: '*', effect: 'pinned', reason: 'writing to pg_settings changes settings row by row, which could include one the gateway pins' });
    }
    if (target) {
      const table = qualified(target);
      c.tables.add(table);
      const alias = target.alias?.aliasname as string | undefined;
      scope.entries.push({ names: alias ? [alias] : [String(target.relname), table], tables: [table] });
    }
    switch (kind) {
      case 'InsertStmt': {
        const conflict = s.onConflictClause as Node | undefined;
        if (conflict && target) {
          const table = qualified(target);
          scope.entries.push({ names: ['excluded'], tables: [table] });
          this.walk(conflict, scope);
        }
        break;
      }
      case 'UpdateStmt':
        for (const item of (s.fromClause as unknown[]) ?? []) this.fromItem(item, scope);
        this.walk(s.targetList, scope);
        this.walk(s.whereClause, scope);
        if (isAlwaysTrue(s.whereClause)) c.classes.add('unbounded-write');
        break;
      case 'DeleteStmt':
        for (const item of (s.usingClause as unknown[]) ?? []) this.fromItem(item, scope);
        this.walk(s.whereClause, scope);
        if (isAlwaysTrue(s.whereClause)) c.classes.add('unbounded-write');
        break;
      case 'MergeStmt': {
        if (s.sourceRelation) this.fromItem(s.sourceRelation, scope);
        this.walk(s.joinCondition, scope);
        const everyRow = isAlwaysTrue(s.joinCondition);
        for (const clause of (s.mergeWhenClauses as unknown[]) ?? []) {
          const w = unwrap(clause)?.[1];
          if (!w) continue;
          if (w.commandType === 'CMD_DELETE') c.classes.add('unbounded-write');
          if (w.commandType === 'CMD_UPDATE' && everyRow && isAlwaysTrue(w.condition)) c.classes.add('unbounded-write');
          this.walk([w.condition, w.targetList, w.values], scope);
        }
        break;
      }
    }
    this.targetList(s.returningList, scope, top);
  }

  private fromItem(item: unknown, scope: Scope): Entry[] {
    const entry = unwrap(item);
    if (!entry) return [];
    const [kind, n] = entry;
    const alias = n.alias?.aliasname as string | undefined;
    let added: Entry;
    switch (kind) {
      case 'RangeVar': {
        if (!n.schemaname && lookupCte(scope, String(n.relname))) {
          added = { names: [alias ?? String(n.relname)], tables: [] };
        } else {
          const table = qualified(n);
          this.c.tables.add(table);
          added = { names: alias ? [alias] : [String(n.relname), table], tables: [table] };
        }
        break;
      }
      case 'JoinExpr': {
        const left = this.fromItem(n.larg, scope);
        const right = this.fromItem(n.rarg, scope);
        this.walk(n.quals, scope);
        if (!alias) return [...left, ...right];
        added = { names: [alias], tables: [...left, ...right].flatMap((e) => e.tables) };
        break;
      }
      case 'RangeTableSample': {
        const inner = this.fromItem(n.relation, scope);
        this.walk([n.args, n.repeatable], scope);
        return inner;
      }
      default:
        // Subqueries, functions in FROM, XMLTABLE, JSON_TABLE: what they read is recorded inside, as derived.
        this.walk(n, scope);
        added = { names: alias ? [alias] : [], tables: [] };
    }
    scope.entries.push(added);
    return [added];
  }

  /** Resolves a column reference through the scopes and records it. */
  private columnRef(ref: Node, scope: Scope | undefined, plain: boolean): void {
    const fields = (ref.fields as unknown[]) ?? [];
    const names = fields.map(sval);
    const star = fields.length > 0 && unwrap(fields[fields.length - 1])?.[0] === 'A_Star';
    const c = this.c;
    if (star) {
      if (fields.length === 1) {
        // `*`: every column of every FROM entry of this query level.
        for (const e of scope?.entries ?? []) for (const t of e.tables) c.column(t, ANY, false);
        c.opaque = true;
        return;
      }
      const qualifier = names.slice(0, -1).join('.');
      const found = findEntry(scope, qualifier);
      if (found) for (const t of found.tables) c.column(t, ANY, false);
      else c.column(qualifier, ANY, false);
      c.opaque = true;
      return;
    }
    if (names.some((n) => n === undefined)) {
      c.column(ANY, ANY, false);
      return;
    }
    if (names.length === 1) {
      const name = names[0]!;
      // A bare name can be a column of any entry in reach, or a whole-row reference to an entry.
      const candidates = allEntries(scope);
      const tables = candidates.flatMap((e) => e.tables);
      const single = scope?.parent === undefined && scope?.entries.length === 1;
      // No FROM entry in reach: a PL/pgSQL variable or an error; either way we cannot tell, so any table.
      if (candidates.length === 0) c.column(ANY, name, false);
      for (const t of tables) c.column(t, name, plain);
      if (!single) c.opaque = true;
      const whole = findEntry(scope, name);
      if (whole) {
        for (const t of whole.tables) c.column(t, ANY, false);
        c.opaque = true;
      }
      return;
    }
    const column = names[names.length - 1]!;
    const qualifier = names.slice(0, -1).join('.');
    const found = findEntry(scope, qualifier);
    if (found) {
      for (const t of found.tables) c.column(t, column, plain);
      return;
    }
    if (names.length === 2) {
      // Not a FROM entry: `composite_column.field` of some entry in reach.
      const tables = allEntries(scope).flatMap((e) => e.tables);
      if (tables.length === 0) c.column(ANY, names[0]!, false);
      for (const t of tables) c.column(t, names[0]!, false);
      c.column(ANY, column, false);
    } else c.column(names.slice(-3, -1).join('.'), column, false);
    c.opaque = true;
  }
}

function lookupCte(scope: Scope | undefined, name: string): boolean {
  for (let s = scope; s; s = s.parent) if (s.ctes.has(name)) return true;
  return false;
}

function findEntry(scope: Scope | undefined, name: string): Entry | undefined {
  for (let s = scope; s; s = s.parent) {
    const e = s.entries.find((x) => x.names.includes(name));
    if (e) return e;
  }
  return undefined;
}

function allEntries(scope: Scope | undefined): Entry[] {
  const out: Entry[] = [];
  for (let s = scope; s; s = s.parent) out.push(...s.entries);
  return out;
}
