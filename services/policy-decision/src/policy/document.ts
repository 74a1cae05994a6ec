/**
 * The policy document: YAML validated by zod. Errors name the file, the
 * line and the field (docs/policy.md describes the format).
 */
import { z } from 'zod';
import { LineCounter, parseDocument, isMap, isPair, isScalar, type Document, type Node as YamlNode } from 'yaml';
import { Detector, MaskStrategy } from '@portcullis/schemas';
import { HTTP_CLASSES } from '../analysis/http-classes.ts';
import { MCP_CLASSES } from '../analysis/types.ts';

const SQL_CLASSES = [
  'read',
  'write',
  'ddl',
  'dcl',
  'unbounded-write',
  'session-change',
  'session-setting',
  'file-access',
  'admin-function',
  'remote-execution',
  'dynamic-sql',
  'non-literal-dynamic-sql',
  'routine-call',
  'transaction',
  'prepare',
  'utility',
] as const;
export const SqlClassName = z.enum(SQL_CLASSES);

const glob = z.string().min(1, 'an empty pattern matches nothing');
const globs = z.array(glob).min(1, 'list at least one pattern');
/** `x` or `[x, y]`, always an array after parsing. */
const oneOrMany = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.infer<T>[]);

const IdentityMatch = z.strictObject({
  subjects: globs.optional(),
  groups: globs.optional(),
  kind: oneOrMany(z.enum(['human', 'service'])).optional(),
  issuer: oneOrMany(glob).optional(),
});

const ResourceMatch = z.strictObject({
  names: globs.optional(),
  /** The rule matches a resource that carries any of these tags. */
  tags: globs.optional(),
});

const SqlMatch = z.strictObject({
  classes: z.array(SqlClassName).min(1).optional(),
  /** Parser node kinds, e.g. SelectStmt, DeleteStmt, CopyStmt. */
  kinds: globs.optional(),
  tables: globs.optional(),
  functions: globs.optional(),
  /** Run-time settings by name (search_path, work_mem, myext.*): admits SET/RESET/set_config of exactly these. */
  settings: globs.optional(),
});

/** Files redirections open, by access; a plain list is the same patterns for every access. */
const RedirectMatch = z
  .union([
    globs,
    z.strictObject({
      /** `< file`: also judged as an argument. */
      read: globs.optional(),
      /** `> file`, `>> file`, `&> file`, `<> file`, `>&file`: never admitted without a pattern here. */
      write: globs.optional(),
      /** `/dev/tcp/HOST/PORT`, `/dev/udp/HOST/PORT` in either direction. */
      network: globs.optional(),
    }),
  ])
  .transform((v) => (Array.isArray(v) ? { read: v, write: v, network: v } : v));

/** Argument constraints for one program (docs/policy.md, "Programs, subcommands and flags"). */
const ProgramConstraint = z.strictObject({
  /** The first operand (`systemctl status`). */
  subcommands: globs.optional(),
  /** Options as the program sees them (`-H`, `--host`): allow rules admit only these. */
  flags: globs.optional(),
  /** Options an allow rule never admits, abbreviations of long options included. */
  denyFlags: globs.optional(),
  /** Every non-option word. */
  operands: globs.optional(),
  /** Options an allow rule requires, each pattern met by one of them (`--no-pager`); ignored by block rules. */
  requiredFlags: globs.optional(),
});

const ShellMatch = z.strictObject({
  /** Program basename (`rm`) or full path (`/usr/bin/rm`). */
  programs: globs.optional(),
  /** Argument patterns; path arguments and redirect targets are matched normalised. */
  args: globs.optional(),
  wrappers: globs.optional(),
  redirects: RedirectMatch.optional(),
  /** Variable names a command may set (`X=y cmd`, `env X=y`, `export X=y`); loader/pager/shell variables only when named exactly. */
  env: globs.optional(),
  /** Per program (a glob on its name): subcommands, flags, operands. */
  constraints: z.record(glob, ProgramConstraint).optional(),
  /** The rule may also match commands whose program or arguments are computed at run time. */
  dynamic: z.boolean().optional(),
  /** SSH channels; without this a rule matches only exec and interactive shell commands. */
  channels: z.array(z.enum(['exec', 'shell', 'subsystem', 'direct-tcpip', 'tcpip-forward', 'agent-forward'])).min(1).optional(),
});

const KubernetesMatch = z.strictObject({
  verbs: globs.optional(),
  /** `pods`, `pods/exec`, `deployments/scale`, … */
  resources: globs.optional(),
  namespaces: globs.optional(),
  apiGroups: z.array(z.string()).min(1).optional(),
});

const headerName = z.string().regex(/^[A-Za-z0-9*?!_.-]+$/, 'a header name (globs allowed, e.g. impersonate-extra-*)');

const HttpMatch = z.strictObject({
  methods: globs.optional(),
  paths: globs.optional(),
  kubernetes: KubernetesMatch.optional(),
  /**
   * Request header name (case-insensitive, globs allowed) → value patterns. The rule matches only
   * requests that carry such a header; a comma-separated value is judged value by value.
   */
  headers: z.record(headerName, oneOrMany(glob)).optional(),
  /** Request classes (proxy, exec, impersonate, …): the only way to admit a request that has any. */
  classes: z.array(z.enum(HTTP_CLASSES)).min(1).optional(),
});

/** Tool calls to upstream MCP servers (protocol mcp, docs/protocols/mcp.md). */
const McpMatch = z.strictObject({
  /** Tool names as the upstream lists them. */
  tools: globs.optional(),
  /**
   * Argument (dotted path into the arguments object; list items count under the list's path) →
   * value patterns. The rule matches only calls that carry the argument; path-like values are also
   * judged as the path they resolve to.
   */
  arguments: z.record(z.string().min(1), oneOrMany(glob)).optional(),
  /** Call classes (tool-changed): the only way to admit a call that has any. */
  classes: z.array(z.enum(MCP_CLASSES)).min(1).optional(),
});

const Match = z.strictObject({
  identity: IdentityMatch.optional(),
  resource: ResourceMatch.optional(),
  protocol: oneOrMany(z.enum(['postgres', 'ssh', 'http', 'mcp'])).optional(),
  /** How the caller came: `mcp` (the MCP server or gateway) or `direct` (the protocol's own client). */
  via: oneOrMany(z.enum(['direct', 'mcp'])).optional(),
  sql: SqlMatch.optional(),
  shell: ShellMatch.optional(),
  http: HttpMatch.optional(),
  mcp: McpMatch.optional(),
});

const columnPath = z.string().regex(/^[^.\s]+(\.[^.\s]+){1,2}$/, 'write a protected column as table.column or schema.table.column');
const ProtectedColumnSpec = z
  .union([columnPath, z.strictObject({ column: columnPath, strategy: MaskStrategy.default('partial') })])
  .transform((v) => {
    const { column: path, strategy } = typeof v === 'string' ? { column: v, strategy: 'partial' as const } : v;
    const dot = path.lastIndexOf('.');
    return { table: path.slice(0, dot), column: path.slice(dot + 1), strategy };
  });

const MaskRule = z.strictObject({
  columns: z.array(ProtectedColumnSpec).default([]),
  /** JSON field names or paths (HTTP responses). */
  fields: z.array(z.string().min(1)).default([]),
  detectors: z.array(Detector).default([]),
});

const duration = z.union([
  z.number().int().positive(),
  z
    .string()
    .regex(/^\d+[smhd]$/, 'write a duration as a number of seconds or like 90s, 15m, 4h, 1d')
    .transform((s) => Number(s.slice(0, -1)) * { s: 1, m: 60, h: 3600, d: 86400 }[s.slice(-1) as 's' | 'm' | 'h' | 'd']),
]);

const Approval = z.strictObject({
  approverGroups: z.array(z.string().min(1)).min(1),
  quorum: z.number().int().positive().default(1),
  /** How long the approval may wait; seconds or 15m / 4h / 1d. */
  ttl: duration.default(3600),
});

const Rule = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'rule ids are letters, digits and _ . : -'),
  description: z.string().optional(),
  effect: z.enum(['allow', 'mask', 'block', 'hold']),
  /** Shown in verdicts and to approvers. */
  reason: z.string().optional(),
  match: Match.default({}),
  mask: MaskRule.optional(),
  approval: Approval.optional(),
});

export const PolicyDocumentSchema = z
  .strictObject({
    /** Document format version. */
    apiVersion: z.literal('portcullis/v1'),
    description: z.string().optional(),
    defaultEffect: z.enum(['allow', 'block', 'hold']).default('block'),
    /** Required when defaultEffect is hold. */
    defaultApproval: Approval.optional(),
    rules: z.array(Rule),
  })
  .superRefine((doc, ctx) => {
    if (doc.defaultEffect === 'hold' && !doc.defaultApproval) {
      ctx.addIssue({ code: 'custom', path: ['defaultApproval'], message: 'defaultEffect hold needs defaultApproval (approverGroups, quorum, ttl)' });
    }
    const seen = new Map<string, number>();
    doc.rules.forEach((rule, i) => {
      const first = seen.get(rule.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['rules', i, 'id'], message: `duplicate rule id "${rule.id}" (first used by rule ${first + 1})` });
      else seen.set(rule.id, i);
      if (rule.effect === 'mask' && !rule.mask) ctx.addIssue({ code: 'custom', path: ['rules', i, 'mask'], message: 'a mask rule needs mask: (columns, fields or detectors)' });
      if (rule.effect === 'mask' && rule.mask && !rule.mask.columns.length && !rule.mask.fields.length && !rule.mask.detectors.length) {
        ctx.addIssue({ code: 'custom', path: ['rules', i, 'mask'], message: 'mask names no columns, fields or detectors' });
      }
      if (rule.effect !== 'mask' && rule.mask) ctx.addIssue({ code: 'custom', path: ['rules', i, 'mask'], message: `mask: only applies to effect mask, not ${rule.effect}` });
      if (rule.effect === 'hold' && !rule.approval) ctx.addIssue({ code: 'custom', path: ['rules', i, 'approval'], message: 'a hold rule needs approval: (approverGroups, quorum, ttl)' });
      if (rule.effect !== 'hold' && rule.approval) ctx.addIssue({ code: 'custom', path: ['rules', i, 'approval'], message: `approval: only applies to effect hold, not ${rule.effect}` });
      for (const p of ['sql', 'shell', 'http', 'mcp'] as const) {
        const wants = { sql: 'postgres', shell: 'ssh', http: 'http', mcp: 'mcp' }[p];
        if (rule.match[p] && rule.match.protocol && !rule.match.protocol.includes(wants as 'postgres')) {
          ctx.addIssue({ code: 'custom', path: ['rules', i, 'match', p], message: `match.${p} can never match: protocol does not include ${wants}` });
        }
      }
    });
  });

export type PolicyDocument = z.infer<typeof PolicyDocumentSchema>;
export type PolicyRule = PolicyDocument['rules'][number];
export type ApprovalSpec = z.infer<typeof Approval>;

export interface PolicyError {
  file: string;
  /** 1-based; 0 when the error is about the document as a whole. */
  line: number;
  /** Dotted path of the field, e.g. rules[2].match.sql.classes[0]. */
  path: string;
  message: string;
}

export type ParsedPolicy = { ok: true; policy: PolicyDocument } | { ok: false; errors: PolicyError[] };

export const formatPolicyError = (e: PolicyError): string => `${e.file}:${e.line}: ${e.path ? `${e.path}: ` : ''}${e.message}`;

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((s, k) => (typeof k === 'number' ? `${s}[${k}]` : s ? `${s}.${String(k)}` : String(k)), '');

/** Line of the deepest node of `path` that exists in the document (a key's line when the key is there). */
function lineOf(doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const key of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (!pair) break;
      offset = (pair.key as YamlNode).range?.[0] ?? offset;
      node = pair.value;
      if (typeof key === 'string' && (node as YamlNode | null)?.range && !isMap(node)) offset = (node as YamlNode).range![0];
    } else if (node && typeof node === 'object' && 'items' in node && typeof key === 'number') {
      const item = (node as { items: unknown[] }).items[key];
      if (!item) break;
      node = item;
      offset = (item as YamlNode).range?.[0] ?? offset;
    } else break;
  }
  return lines.linePos(offset).line;
}

/**
 * Parses YAML and validates it with a zod schema; errors carry the file, the
 * line (from the YAML document's node ranges) and the field path. Never throws.
 */
export function parseYamlWith<S extends z.ZodType>(
  schema: S,
  yamlText: string,
  fileName: string,
): { ok: true; value: z.infer<S> } | { ok: false; errors: PolicyError[] } {
  const lines = new LineCounter();
  const doc = parseDocument(yamlText, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => ({ file: fileName, line: e.linePos?.[0]?.line ?? lines.linePos(e.pos[0]).line, path: '', message: e.message.split('\n')[0]! })),
    };
  }
  const result = schema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (result.success) return { ok: true, value: result.data };
  const errors = result.error.issues.map((issue): PolicyError => {
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = keys.length ? [...issue.path, keys[0]!] : issue.path;
    const message = keys.length ? `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
    return { file: fileName, line: lineOf(doc, lines, path), path: formatPath(path), message };
  });
  errors.sort((a, b) => a.line - b.line);
  return { ok: false, errors };
}

/** Parses and validates a policy document; never throws. */
export function parsePolicyDocument(yamlText: string, fileName: string): ParsedPolicy {
  const parsed = parseYamlWith(PolicyDocumentSchema, yamlText, fileName);
  return parsed.ok ? { ok: true, policy: parsed.value } : parsed;
}
