/**
 * Rule matching. A command is judged unit by unit: each SQL statement, each
 * simple shell command, the HTTP request. A rule *applies* to a unit when
 * its conditions overlap it (any class, any table, any argument matches);
 * it *covers* a unit when its conditions take in all of it (every class,
 * every table, every argument). Block, hold and mask rules take effect when
 * they apply; a unit is admitted only when an allow or hold rule covers it.
 */
import type { CommandRequested } from '@portcullis/schemas';
import type { SimpleCommandAnalysis, SqlStatementAnalysis, HttpAnalysis, McpAnalysis, ShellFacts } from './analysis/types.ts';
import { NO_SHELL_CONDITIONS, type CompiledRule, type Glob, type PathGlobs, type ProgramConstraints, type ShellConditions } from './policy/compile.ts';
import { factsFor } from './analysis/shell-facts.ts';
import { isSensitiveVariable } from './analysis/shell-variables.ts';

/** `label` names the unit in reasons; computed only when a reason needs it. */
export type Unit =
  | { kind: 'sql'; label: () => string; statement: SqlStatementAnalysis }
  | { kind: 'shell'; label: () => string; command: SimpleCommandAnalysis; channel: 'exec' | 'shell' }
  | { kind: 'channel'; label: () => string; channel: string; name: string }
  | { kind: 'http'; label: () => string; request: HttpAnalysis }
  | { kind: 'mcp'; label: () => string; call: McpAnalysis };

export type Mode = 'applies' | 'covers';

/** Identity, resource and protocol: the same in both modes. */
export function matchesContext(rule: CompiledRule, command: CommandRequested): boolean {
  const { identity, resource } = command;
  const id = rule.identity;
  if (id.subjects && !id.subjects(identity.subject)) return false;
  if (id.kinds && !id.kinds.includes(identity.kind)) return false;
  if (id.issuer && !id.issuer(identity.issuer)) return false;
  if (id.groups && !identity.groups.some((g) => id.groups!(g))) return false;
  if (rule.resource.names && !rule.resource.names(resource.name)) return false;
  if (rule.resource.tags && !resource.tags.some((t) => rule.resource.tags!(t))) return false;
  if (rule.protocols && !rule.protocols.includes(command.protocol)) return false;
  // A command without `via` came from the protocol's own client.
  if (rule.via && !rule.via.includes(command.via ?? 'direct')) return false;
  return true;
}

/** All of `values` (covers) or any of them (applies) satisfy `glob`; an empty list is vacuously covered but never applied to. */
function over(values: readonly string[], test: (v: string) => boolean, mode: Mode): boolean {
  return mode === 'covers' ? values.every(test) : values.some(test);
}

export function matchesUnit(rule: CompiledRule, unit: Unit, mode: Mode): boolean {
  switch (unit.kind) {
    case 'sql':
      if (rule.shell || rule.http || rule.mcp) return false;
      return rule.sql ? matchesSql(rule.sql, unit.statement, mode) : true;
    case 'shell':
      if (rule.sql || rule.http || rule.mcp) return false;
      if (!rule.shell && mode === 'applies') return true;
      return matchesShell(rule.shell ?? NO_SHELL_CONDITIONS, unit.command, unit.channel, mode);
    case 'channel':
      // Port forwarding, agent forwarding and subsystems are admitted only by rules that name the channel.
      if (rule.sql || rule.http || rule.mcp) return false;
      if (!rule.shell?.channels?.includes(unit.channel as 'exec')) return mode === 'applies' && !rule.shell;
      return rule.shell.programs ? rule.shell.programs(unit.name) : true;
    case 'http':
      if (rule.sql || rule.shell || rule.mcp) return false;
      // A request with classes (proxy, exec, impersonate, …) is admitted only by a rule that names them.
      return rule.http ? matchesHttp(rule.http, unit.request, mode) : mode === 'applies' || unit.request.classes.length === 0;
    case 'mcp':
      if (rule.sql || rule.shell || rule.http) return false;
      // A call with classes (tool-changed) is admitted only by a rule that names them.
      return rule.mcp ? matchesMcp(rule.mcp, unit.call, mode) : mode === 'applies' || unit.call.classes.length === 0;
  }
}

type SqlConditions = NonNullable<CompiledRule['sql']>;

function tableMatches(tables: NonNullable<SqlConditions['tables']>, table: string): boolean {
  if (tables.match(table)) return true;
  const dot = table.lastIndexOf('.');
  // A pattern without a schema matches the table in any schema; a statement without a schema may mean any schema.
  return dot >= 0 ? tables.match(table.slice(dot + 1)) : tables.bare(table);
}

function functionMatches(functions: Glob, name: string): boolean {
  const lower = name.toLowerCase();
  const bare = lower.startsWith('pg_catalog.') ? lower.slice('pg_catalog.'.length) : lower;
  return functions(bare) || functions(lower);
}

function matchesSql(sql: SqlConditions, s: SqlStatementAnalysis, mode: Mode): boolean {
  if (sql.classes && !over(s.classes, (c) => sql.classes!.has(c), mode)) return false;
  if (sql.kinds && !sql.kinds(s.kind)) return false;
  if (sql.tables && !over(s.tables, (t) => tableMatches(sql.tables!, t), mode)) return false;
  if (sql.functions && !over(s.functions, (f) => functionMatches(sql.functions!, f), mode)) return false;
  // A settings condition is about statements that change settings: it never covers one that changes none.
  if (sql.settings && !((s.settings?.length ?? 0) > 0 && over(s.settings!, sql.settings, mode))) return false;
  return true;
}

/**
 * A shell command. Covers: the program, every wrapper, every argument (a
 * path-like one by all the paths it may name), every file read through `<`
 * and every tree walked are taken in; every write or network redirection
 * matches `redirects`; every variable set is in `env`; the program's
 * constraints hold. Applies: each given condition overlaps the command.
 */
function matchesShell(shell: ShellConditions, c: SimpleCommandAnalysis, channel: 'exec' | 'shell', mode: Mode): boolean {
  // `channels: [exec]` admits exec requests only, not lines typed in an interactive shell.
  if (shell.channels && !shell.channels.includes(channel)) return false;
  // A program computed at run time is admitted only by a rule that says it may be.
  if (mode === 'covers' && c.dynamic && !shell.dynamic) return false;
  const facts = factsFor(c);
  // A statement of redirections or assignments only has no program: judged by what it opens and sets.
  const bare = c.program === '';
  if (shell.programs && !(bare ? mode === 'covers' : shell.programs(c.program) || shell.programs(c.path))) return false;
  // Without `programs`, the programs named in `constraints` are the rule's programs.
  if (!shell.programs && shell.constraints && !(bare ? mode === 'covers' : shell.constraints.some((k) => k.program(c.program) || k.program(c.path)))) return false;
  if (shell.wrappers && !over(c.wrappers, shell.wrappers, mode)) return false;
  if (shell.args && !argumentsMatch(shell.args, facts, mode)) return false;
  if (!redirectsMatch(shell.redirects, facts, mode)) return false;
  if (!variablesMatch(shell.env, facts.variables, mode)) return false;
  if (shell.constraints && !bare) {
    for (const k of shell.constraints) if ((k.program(c.program) || k.program(c.path)) && !constraintHolds(k, facts, mode)) return false;
  }
  return true;
}

function argumentsMatch(args: PathGlobs, f: ShellFacts, mode: Mode): boolean {
  const reads = f.files.filter((x) => x.access === 'read').flatMap((x) => x.paths);
  if (mode === 'applies') {
    // Every spelling counts: the word, each path it may name, every redirect target, every tree walked.
    return (
      f.args.some((a) => args(a.word) || a.paths.some(args)) ||
      f.files.some((x) => x.paths.some(args)) ||
      f.valuePaths.some(args) ||
      f.walks.some((d) => args.couldContain(d))
    );
  }
  const wordCovered = f.args.every((a) => {
    if (a.word.startsWith('-') && a.word.length > 1) return args(a.word) && (!a.pathLike || a.paths.every(args));
    return a.pathLike ? a.paths.every(args) : args(a.word);
  });
  return wordCovered && reads.every(args) && f.walks.every(args);
}

function redirectsMatch(r: ShellConditions['redirects'], f: ShellFacts, mode: Mode): boolean {
  if (mode === 'applies') {
    if (!r) return true;
    return f.files.some((x) => {
      const globs = r[x.access];
      return globs !== undefined && x.paths.some(globs);
    });
  }
  return f.files.every((x) => {
    const globs = r?.[x.access];
    // Reads are arguments (judged above); writes and connections need a pattern that names them.
    if (globs === undefined) return x.access === 'read';
    return x.paths.every(globs);
  });
}

function variablesMatch(env: ShellConditions['env'], names: readonly string[], mode: Mode): boolean {
  if (mode === 'applies') return !env || names.some((n) => env.names(n));
  return names.every((n) => env !== undefined && (env.exact.has(n) || (!isSensitiveVariable(n) && env.names(n))));
}

function constraintHolds(k: ProgramConstraints, f: ShellFacts, mode: Mode): boolean {
  if (mode === 'applies') {
    if (k.subcommands && !f.subcommands.some(k.subcommands)) return false;
    if (k.flags && !f.options.some(k.flags.hit)) return false;
    if (k.denyFlags && !f.options.some(k.denyFlags.hit)) return false;
    if (k.operands && !f.operands.some(k.operands)) return false;
    return true;
  }
  // No subcommand at all is not one of the listed ones.
  if (k.subcommands && !(f.subcommands.length > 0 && f.subcommands.every(k.subcommands))) return false;
  if (k.flags && !f.options.every(k.flags.test)) return false;
  if (k.denyFlags && f.options.some(k.denyFlags.hit)) return false;
  if (k.operands && !f.operands.every(k.operands)) return false;
  if (k.requiredFlags && !k.requiredFlags.every((required) => f.options.some(required))) return false;
  return true;
}

type HttpConditions = NonNullable<CompiledRule['http']>;

function matchesHttp(http: HttpConditions, r: HttpAnalysis, mode: Mode): boolean {
  if (http.methods && !http.methods(r.method)) return false;
  if (http.paths && !http.paths(r.path)) return false;
  if (http.classes) {
    if (r.classes.length === 0 || !over(r.classes, (c) => http.classes!.has(c), mode)) return false;
  } else if (mode === 'covers' && r.classes.length > 0) return false;
  if (http.headers && !matchesHeaders(http.headers, r.headers, mode)) return false;
  const k = http.kubernetes;
  if (k) {
    const req = r.kubernetes;
    if (!req) return false;
    if (k.verbs && !k.verbs(req.verb)) return false;
    if (k.resources && !k.resources(req.subresource ? `${req.resource}/${req.subresource}` : req.resource)) return false;
    if (k.namespaces && !(req.namespace !== undefined && k.namespaces(req.namespace))) return false;
    if (k.apiGroups && !k.apiGroups.includes(req.apiGroup)) return false;
  }
  return true;
}

/** A header value as the values it lists: `a, b` is judged as a and b, so a second value cannot hide behind the first. */
const headerValues = (value: string): string[] => value.split(',').map((v) => v.trim());

/**
 * Every header condition needs a header of that name; covers: all its values match, and every
 * Impersonate-* header the request carries is one the rule names (an allowed Impersonate-User
 * does not carry an unnamed Impersonate-Group along); applies: any value matches.
 */
function matchesHeaders(conditions: NonNullable<HttpConditions['headers']>, headers: Readonly<Record<string, string>>, mode: Mode): boolean {
  const present = Object.entries(headers);
  for (const c of conditions) {
    const named = present.filter(([name]) => c.name(name));
    if (named.length === 0) return false;
    if (!over(named.flatMap(([, v]) => headerValues(v)), c.value, mode)) return false;
  }
  if (mode === 'covers') {
    for (const [name] of present) if (name.startsWith('impersonate-') && !conditions.some((c) => c.name(name))) return false;
  }
  return true;
}

type McpConditions = NonNullable<CompiledRule['mcp']>;

/** The value at dotted `path` is under an argument the glob names: the path itself or one of its prefixes (`options` holds `options.mode`). */
function underArgument(argument: Glob, path: string): boolean {
  const parts = path.split('.');
  for (let n = parts.length; n >= 1; n--) if (argument(parts.slice(0, n).join('.'))) return true;
  return false;
}

/**
 * An MCP tool call. Every argument condition needs the argument: covers —
 * every value under it matches in every spelling (the value and the path it
 * resolves to); applies — some spelling of some value matches. Classes as
 * for HTTP: only a rule that names them covers a call that has them.
 */
export function matchesMcp(mcp: McpConditions, call: McpAnalysis, mode: Mode): boolean {
  if (mcp.tools && !mcp.tools(call.tool)) return false;
  if (mcp.classes) {
    if (call.classes.length === 0 || !over(call.classes, (c) => mcp.classes!.has(c), mode)) return false;
  } else if (mode === 'covers' && call.classes.length > 0) return false;
  for (const condition of mcp.arguments ?? []) {
    const values = call.arguments.filter((a) => underArgument(condition.argument, a.path));
    if (values.length === 0) return false;
    const ok = mode === 'covers' ? values.every((v) => v.spellings.every(condition.value)) : values.some((v) => v.spellings.some(condition.value));
    if (!ok) return false;
  }
  return true;
}
