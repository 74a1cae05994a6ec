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
  /**
   * The target's own parser rejects the command as a whole (for SQL: libpg_query,
   * PostgreSQL's parser, failed on the top-level text), so the target would answer
   * a syntax error too. Unset when only Portcullis's deeper analysis gave up.
   */
  syntaxError?: { message: string; position?: number };
}

// ---------------------------------------------------------------- SQL
export type SqlClass =
  | 'read'
  | 'write'
  | 'ddl'
  | 'dcl'
  | 'unbounded-write'
  | 'session-change'
  | 'session-setting'
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
  /**
   * Run-time settings the statement changes (SET, RESET, set_config(),
   * ALTER ROLE/DATABASE/SYSTEM … SET), lower-case; '*' for RESET ALL or a
   * name computed at run time. Judged by kit/postgres/settings.ts.
   */
  settings?: string[];
  /**
   * Set when Portcullis refuses the statement whatever the policy says: it
   * would change a setting the gateway pins (standard_conforming_strings,
   * client_encoding to an unsafe encoding, …).
   */
  refused?: string;
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
  /** Output / input redirections, e.g. { op: '>', target: '/dev/sda' }; `fd` when one is written (`2>` → fd '2'); `text`: a here-document's body. */
  redirects: { op: string; target: string; fd?: string; text?: string }[];
  /** True when the program or an argument is computed at run time ($VAR, $(…), globs we cannot expand). */
  dynamic: boolean;
  /** `NAME=value` assignments in effect: prefix assignments, `env`/`sudo` ones (as written). */
  env?: string[];
  /** The wrapper invocations themselves, parallel to `wrappers` (e.g. sudo with args ['-u', 'root', 'rm', …]). */
  wrapperCommands?: { path: string; program: string; args: string[] }[];
  /** What the command touches, as policies match it (shell-facts.ts); analyzeShell always sets it. */
  facts?: ShellFacts;
}

/** How a redirection uses its target: `/dev/tcp/…` and `/dev/udp/…` are network connections whatever the direction. */
export type FileAccess = 'read' | 'write' | 'network';

export interface ShellFacts {
  /**
   * Per argument (parallel to args): the normalised paths it may name, and
   * whether it is written like a path (`/x`, `./x`, `~/x`, `--opt=/x`), in
   * which case an allow rule must cover its paths rather than the word.
   */
  args: { word: string; pathLike: boolean; paths: string[] }[];
  /** Redirections that open something (descriptor duplications and here-documents do not). */
  files: { access: FileAccess; target: string; paths: string[] }[];
  /** Directory trees a recursive reader walks (grep -r, find, du, tar, cp -r …), normalised. */
  walks: string[];
  /** Options as the program sees them: `-aH` → -a, -H; `--host=x` → --host. */
  options: string[];
  /** Words that are not options. */
  operands: string[];
  /** Candidates for the subcommand (first operand); several when an option before it might take a value. */
  subcommands: string[];
  /** Variables the command sets: prefix assignments, env/sudo ones, export/declare/local, read/printf -v, for loops. */
  variables: string[];
  /** Paths assigned values and here-strings may name (`TZ=/etc/shadow`, `<<< ~/.ssh/id_rsa`): block rules' `args` see them too. */
  valuePaths: string[];
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

/** One argument value of an MCP tool call, under the dotted path of the argument that holds it (list items under the list's path). */
export interface McpArgumentValue {
  path: string;
  value: string;
  /** The value and, for path-like values, the normalised path it names (mcp.ts). */
  spellings: string[];
}

/** Tool calls that reach further than their tool: `tool-changed` — the definition changed since the session first saw it. */
export const MCP_CLASSES = ['tool-changed'] as const;
export type McpClass = (typeof MCP_CLASSES)[number];

export interface McpAnalysis {
  ok: true;
  kind: 'mcp';
  tool: string;
  arguments: McpArgumentValue[];
  classes: McpClass[];
}

export type Analysis = SqlAnalysis | ShellAnalysis | HttpAnalysis | McpAnalysis | Unparseable;
