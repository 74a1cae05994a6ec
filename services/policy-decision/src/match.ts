/**
 * Rule matching. A command is judged unit by unit: each SQL statement, each
 * simple shell command, the HTTP request. A rule *applies* to a unit when
 * its conditions overlap it (any class, any table, any argument matches);
 * it *covers* a unit when its conditions take in all of it (every class,
 * every table, every argument). Block, hold and mask rules take effect when
 * they apply; a unit is admitted only when an allow or hold rule covers it.
 */
import type { CommandRequested } from '@portcullis/schemas';
import type { SimpleCommandAnalysis, SqlStatementAnalysis, HttpAnalysis } from './analysis/types.ts';
import type { CompiledRule, Glob } from './policy/compile.ts';

/** `label` names the unit in reasons; computed only when a reason needs it. */
export type Unit =
  | { kind: 'sql'; label: () => string; statement: SqlStatementAnalysis }
  | { kind: 'shell'; label: () => string; command: SimpleCommandAnalysis; channel: 'exec' | 'shell' }
  | { kind: 'channel'; label: () => string; channel: string; name: string }
  | { kind: 'http'; label: () => string; request: HttpAnalysis };

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
  return true;
}

/** All of `values` (covers) or any of them (applies) satisfy `glob`; an empty list is vacuously covered but never applied to. */
function over(values: readonly string[], test: (v: string) => boolean, mode: Mode): boolean {
  return mode === 'covers' ? values.every(test) : values.some(test);
}

export function matchesUnit(rule: CompiledRule, unit: Unit, mode: Mode): boolean {
  switch (unit.kind) {
    case 'sql':
      if (rule.shell || rule.http) return false;
      return rule.sql ? matchesSql(rule.sql, unit.statement, mode) : true;
    case 'shell':
      if (rule.sql || rule.http) return false;
      if (!rule.shell) return !(mode === 'covers' && unit.command.dynamic);
      return matchesShell(rule.shell, unit.command, unit.channel, mode);
    case 'channel':
      // Port forwarding, agent forwarding and subsystems are admitted only by rules that name the channel.
      if (rule.sql || rule.http) return false;
      if (!rule.shell?.channels?.includes(unit.channel as 'exec')) return mode === 'applies' && !rule.shell;
      return rule.shell.programs ? rule.shell.programs(unit.name) : true;
    case 'http':
      if (rule.sql || rule.shell) return false;
      // A request with classes (proxy, exec, impersonate, …) is admitted only by a rule that names them.
      return rule.http ? matchesHttp(rule.http, unit.request, mode) : mode === 'applies' || unit.request.classes.length === 0;
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
  return true;
}

type ShellConditions = NonNullable<CompiledRule['shell']>;

function matchesShell(shell: ShellConditions, c: SimpleCommandAnalysis, channel: 'exec' | 'shell', mode: Mode): boolean {
  // `channels: [exec]` admits exec requests only, not lines typed in an interactive shell.
  if (shell.channels && !shell.channels.includes(channel)) return false;
  // A program computed at run time is admitted only by a rule that says it may be.
  if (mode === 'covers' && c.dynamic && !shell.dynamic) return false;
  if (shell.programs && !(shell.programs(c.program) || shell.programs(c.path))) return false;
  if (shell.args && !over(c.args, shell.args, mode)) return false;
  if (shell.wrappers && !over(c.wrappers, shell.wrappers, mode)) return false;
  if (shell.redirects && !over(c.redirects.map((r) => r.target), shell.redirects, mode)) return false;
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
