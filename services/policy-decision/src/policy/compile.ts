/**
 * Turns a validated policy document into rules with precompiled glob
 * matchers (picomatch), so deciding never compiles a pattern.
 */
import picomatch from 'picomatch';
import type { PolicyDocument, PolicyRule, ApprovalSpec } from './document.ts';
import { pathGlobs, type Glob, type PathGlobs } from './path-patterns.ts';
import { abbreviates } from '../analysis/shell-options.ts';

export type { Glob, PathGlobs };

/** Option patterns; `hit` also counts a long option written as an abbreviation of one (`--rot` for `--rotate`). */
export interface FlagGlobs {
  test: Glob;
  hit: Glob;
}

export interface ProgramConstraints {
  program: Glob;
  subcommands?: Glob;
  flags?: FlagGlobs;
  denyFlags?: FlagGlobs;
  operands?: Glob;
  /** One glob per required pattern. */
  requiredFlags?: readonly Glob[];
}

export interface ShellConditions {
  programs?: Glob;
  args?: PathGlobs;
  wrappers?: Glob;
  redirects?: { read?: PathGlobs; write?: PathGlobs; network?: PathGlobs };
  /** Variable names: `names` for ordinary ones, `exact` for the sensitive ones a rule must name. */
  env?: { names: Glob; exact: ReadonlySet<string> };
  constraints?: readonly ProgramConstraints[];
  dynamic: boolean;
  channels?: readonly string[];
}

/** What a rule without shell conditions asks of a shell command: nothing, which still admits no writes and no variables. */
export const NO_SHELL_CONDITIONS: ShellConditions = { dynamic: false };

/** Any of the patterns matches. Globs never see command text, only names the analysers extracted. */
function anyOf(patterns: readonly string[] | undefined, options: picomatch.PicomatchOptions = {}): Glob | undefined {
  if (!patterns) return undefined;
  const matchers = patterns.map((p) => picomatch(p, { dot: true, ...options }));
  return (value) => matchers.some((m) => m(value));
}

const paths = (patterns: readonly string[] | undefined): PathGlobs | undefined => (patterns ? pathGlobs(patterns) : undefined);

/** The literal start of a pattern (before any glob character): what an abbreviation must be a prefix of. */
const literalPrefix = (pattern: string): string => {
  const at = pattern.search(/[*?[{(!+@\\]/);
  return at < 0 ? pattern : pattern.slice(0, at);
};

function flags(patterns: readonly string[] | undefined): FlagGlobs | undefined {
  if (!patterns) return undefined;
  const test = anyOf(patterns)!;
  const prefixes = patterns.map(literalPrefix);
  return { test, hit: (o) => test(o) || prefixes.some((p) => abbreviates(o, p)) };
}

export interface CompiledRule {
  id: string;
  index: number;
  effect: PolicyRule['effect'];
  reason: string;
  source: PolicyRule;
  identity: {
    subjects?: Glob;
    groups?: Glob;
    kinds?: readonly string[];
    issuer?: Glob;
  };
  resource: { names?: Glob; tags?: Glob };
  protocols?: readonly string[];
  /** `direct` or `mcp` (a command without `via` is direct). */
  via?: readonly string[];
  sql?: {
    classes?: ReadonlySet<string>;
    kinds?: Glob;
    tables?: { match: Glob; bare: Glob };
    functions?: Glob;
    settings?: Glob;
  };
  shell?: ShellConditions;
  http?: {
    methods?: Glob;
    paths?: Glob;
    kubernetes?: { verbs?: Glob; resources?: Glob; namespaces?: Glob; apiGroups?: readonly string[] };
    /** Header name matcher (lower-case, globs) with its value matcher. */
    headers?: readonly { name: Glob; value: Glob }[];
    classes?: ReadonlySet<string>;
  };
  mcp?: {
    tools?: Glob;
    /** `argument` is a glob over the dotted argument path (`*` is any top-level argument). */
    arguments?: readonly { argument: Glob; value: Glob }[];
    classes?: ReadonlySet<string>;
  };
  mask?: NonNullable<PolicyRule['mask']>;
  approval?: ApprovalSpec;
}

export interface CompiledPolicy {
  document: PolicyDocument;
  defaultEffect: PolicyDocument['defaultEffect'];
  defaultApproval?: ApprovalSpec;
  rules: readonly CompiledRule[];
}

const bareName = (name: string): string => name.slice(name.lastIndexOf('.') + 1);

export function compilePolicy(document: PolicyDocument): CompiledPolicy {
  const rules = document.rules.map((rule, index): CompiledRule => {
    const m = rule.match;
    const compiled: CompiledRule = {
      id: rule.id,
      index,
      effect: rule.effect,
      reason: rule.reason ?? rule.description ?? `rule ${rule.id}`,
      source: rule,
      identity: {
        subjects: anyOf(m.identity?.subjects),
        groups: anyOf(m.identity?.groups),
        kinds: m.identity?.kind,
        issuer: anyOf(m.identity?.issuer),
      },
      resource: { names: anyOf(m.resource?.names), tags: anyOf(m.resource?.tags) },
      protocols: m.protocol,
      ...(m.via ? { via: m.via } : {}),
    };
    if (m.sql) {
      const tables = m.sql.tables;
      compiled.sql = {
        classes: m.sql.classes ? new Set(m.sql.classes) : undefined,
        kinds: anyOf(m.sql.kinds, { nocase: true }),
        // `bare` compares a pattern's last segment, for statements that leave the schema to search_path.
        tables: tables ? { match: anyOf(tables, { nocase: true })!, bare: anyOf(tables.map(bareName), { nocase: true })! } : undefined,
        functions: anyOf(m.sql.functions?.map((f) => f.replace(/^pg_catalog\./i, '')), { nocase: true }),
        settings: anyOf(m.sql.settings?.map((n) => n.toLowerCase()), { nocase: true }),
      };
    }
    if (m.shell) {
      const r = m.shell.redirects;
      compiled.shell = {
        programs: anyOf(m.shell.programs),
        args: paths(m.shell.args),
        wrappers: anyOf(m.shell.wrappers),
        redirects: r ? { read: paths(r.read), write: paths(r.write), network: paths(r.network) } : undefined,
        env: m.shell.env ? { names: anyOf(m.shell.env)!, exact: new Set(m.shell.env) } : undefined,
        constraints: m.shell.constraints
          ? Object.entries(m.shell.constraints).map(([program, c]) => ({
              program: anyOf([program])!,
              subcommands: anyOf(c.subcommands),
              flags: flags(c.flags),
              denyFlags: flags(c.denyFlags),
              operands: anyOf(c.operands),
              requiredFlags: c.requiredFlags?.map((p) => anyOf([p])!),
            }))
          : undefined,
        dynamic: m.shell.dynamic ?? false,
        channels: m.shell.channels,
      };
    }
    if (m.http) {
      const k = m.http.kubernetes;
      compiled.http = {
        methods: anyOf(m.http.methods, { nocase: true }),
        paths: anyOf(m.http.paths),
        kubernetes: k
          ? { verbs: anyOf(k.verbs), resources: anyOf(k.resources), namespaces: anyOf(k.namespaces), apiGroups: k.apiGroups }
          : undefined,
        headers: m.http.headers
          ? Object.entries(m.http.headers).map(([name, values]) => ({ name: anyOf([name.toLowerCase()], { nocase: true })!, value: anyOf(values)! }))
          : undefined,
        classes: m.http.classes ? new Set(m.http.classes) : undefined,
      };
    }
    if (m.mcp) {
      compiled.mcp = {
        tools: anyOf(m.mcp.tools),
        arguments: m.mcp.arguments ? Object.entries(m.mcp.arguments).map(([path, values]) => ({ argument: anyOf([path])!, value: anyOf(values)! })) : undefined,
        classes: m.mcp.classes ? new Set(m.mcp.classes) : undefined,
      };
    }
    if (rule.mask) compiled.mask = rule.mask;
    if (rule.approval) compiled.approval = rule.approval;
    return compiled;
  });
  return { document, defaultEffect: document.defaultEffect, defaultApproval: document.defaultApproval, rules };
}
