/**
 * What the analysers (the real PostgreSQL parser, a real shell parser, the
 * HTTP / Kubernetes request classifier) find in a command. `decide` matches
 * policy rules against this, never against the raw text.
 *
 * Analysis is async (the parsers are WASM); `decide` is pure and sync.
 */
import type { HttpClass } from './http-classes.ts';

/** Anything an analyser could not understand makes the command unparseable, which blocks it. */
export interface Unparseable {
  ok: false;
  error: string;
}

// ---------------------------------------------------------------- SQL
export type SqlClass =
  | 'read'
  | 'write'
  | 'ddl'
  | 'dcl'
  | 'unbounded-write'
  | 'session-change'
  | 'file-access'
  | 'admin-function'
  | 'remote-execution'
  | 'dynamic-sql'
  | 'non-literal-dynamic-sql'
  | 'routine-call'
  | 'transaction'
  | 'prepare'
  | 'utility';

export interface ColumnRef {
  /** Schema-qualified when the statement qualifies it, else the bare table name. */
  table: string;
  column: string;
  /** True when the column is reached only through plain column references. */
  plain: boolean;
}

export interface SqlStatementAnalysis {
  /** The statement's own text (one of several in a multi-statement string). */
  text: string;
  /** Parser node kind, e.g. "SelectStmt", "DeleteStmt". */
  kind: string;
  classes: SqlClass[];
  /** Tables read or written, schema-qualified where the statement qualifies them. */
  tables: string[];
  /** Functions called, schema-qualified where qualified. */
  functions: string[];
  /** Column references with table resolved where the parser lets us (aliases, CTEs). */
  columns: ColumnRef[];
  /** True when the statement has `*`, whole-row references, or columns we cannot attribute to a table. */
  opaqueOutput: boolean;
  /** PREPARE name / EXECUTE name, for per-session prepared statements. */
  prepares?: { name: string; text: string };
  executes?: { name: string };
  /** DEALLOCATE name / DEALLOCATE ALL. */
  deallocates?: { name?: string; all?: boolean };
}

export interface SqlAnalysis {
  ok: true;
  kind: 'sql';
  statements: SqlStatementAnalysis[];
}

// ---------------------------------------------------------------- shell
export interface SimpleCommandAnalysis {
  /** Program as written (`/bin/rm`, `rm`) and its basename (`rm`). */
  path: string;
  program: string;
  /** Literal arguments after the program; non-literal words are kept as written and flagged. */
  args: string[];
  /** Wrappers it ran under, outermost first (`sudo`, `env`, `xargs`, `timeout`, `nice`, `sh -c`). */
  wrappers: string[];
  /** Output / input redirections, e.g. { op: '>', target: '/dev/sda' }; `fd` when one is written (`2>` → fd '2'). */
  redirects: { op: string; target: string; fd?: string }[];
  /** True when the program or an argument is computed at run time ($VAR, $(…), globs we cannot expand). */
  dynamic: boolean;
  /** `NAME=value` assignments in effect: prefix assignments, `env`/`sudo` ones (as written). */
  env?: string[];
  /** The wrapper invocations themselves, parallel to `wrappers` (e.g. sudo with args ['-u', 'root', 'rm', …]). */
  wrapperCommands?: { path: string; program: string; args: string[] }[];
}

export interface ShellAnalysis {
  ok: true;
  kind: 'shell';
  commands: SimpleCommandAnalysis[];
}

// ---------------------------------------------------------------- HTTP / Kubernetes
export interface HttpAnalysis {
  ok: true;
  kind: 'http';
  method: string;
  /** Normalised path: percent-decoded once, dot segments resolved, duplicate slashes collapsed. */
  path: string;
  /** The request headers the proxy lets policies see, lower-case names (never credentials). */
  headers: Record<string, string>;
  /** Requests that reach further than their verb (proxy, exec, impersonate, …; see http-classes.ts). */
  classes: HttpClass[];
  kubernetes?: {
    verb: string;
    apiGroup: string;
    apiVersion: string;
    resource: string;
    subresource?: string;
    namespace?: string;
    name?: string;
  };
}

export type Analysis = SqlAnalysis | ShellAnalysis | HttpAnalysis | Unparseable;
