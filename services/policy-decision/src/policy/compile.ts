/**
 * Turns a validated policy document into rules with precompiled glob
 * matchers (picomatch), so deciding never compiles a pattern.
 */
import picomatch from 'picomatch';
import type { PolicyDocument, PolicyRule, ApprovalSpec } from './document.ts';

export type Glob = (value: string) => boolean;

/** Any of the patterns matches. Globs never see command text, only names the analysers extracted. */
function anyOf(patterns: readonly string[] | undefined, options: picomatch.PicomatchOptions = {}): Glob | undefined {
  if (!patterns) return undefined;
  const matchers = patterns.map((p) => picomatch(p, { dot: true, ...options }));
  return (value) => matchers.some((m) => m(value));
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
  sql?: {
    classes?: ReadonlySet<string>;
    kinds?: Glob;
    tables?: { match: Glob; bare: Glob };
    functions?: Glob;
  };
  shell?: {
    programs?: Glob;
    args?: Glob;
    wrappers?: Glob;
    redirects?: Glob;
    dynamic: boolean;
    channels?: readonly string[];
  };
  http?: {
    methods?: Glob;
    paths?: Glob;
    kubernetes?: { verbs?: Glob; resources?: Glob; namespaces?: Glob; apiGroups?: readonly string[] };
    /** Header name matcher (lower-case, globs) with its value matcher. */
    headers?: readonly { name: Glob; value: Glob }[];
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
    };
    if (m.sql) {
      const tables = m.sql.tables;
      compiled.sql = {
        classes: m.sql.classes ? new Set(m.sql.classes) : undefined,
        kinds: anyOf(m.sql.kinds, { nocase: true }),
        // `bare` compares a pattern's last segment, for statements that leave the schema to search_path.
        tables: tables ? { match: anyOf(tables, { nocase: true })!, bare: anyOf(tables.map(bareName), { nocase: true })! } : undefined,
        functions: anyOf(m.sql.functions?.map((f) => f.replace(/^pg_catalog\./i, '')), { nocase: true }),
      };
    }
    if (m.shell) {
      compiled.shell = {
        programs: anyOf(m.shell.programs),
        args: anyOf(m.shell.args),
        wrappers: anyOf(m.shell.wrappers),
        redirects: anyOf(m.shell.redirects),
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
    if (rule.mask) compiled.mask = rule.mask;
    if (rule.approval) compiled.approval = rule.approval;
    return compiled;
  });
  return { document, defaultEffect: document.defaultEffect, defaultApproval: document.defaultApproval, rules };
}
