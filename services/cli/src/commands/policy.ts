/**
 * `portcullis policy eval` and `portcullis policy test`: decide commands
 * against a policy file locally, with the PDP's own code and no Kafka.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { Identity, ResourceRef, type CommandRequested, type Protocol } from '@portcullis/schemas';
import {
  evaluate,
  formatPolicyError,
  parseYamlWith,
  playgroundCommand,
  policyStateFromDocument,
  type PlaygroundCommand,
  type Decision,
  type PolicyError,
  type PolicyState,
} from '@portcullis/policy-decision';
import { commandGroup } from '../groups.ts';

export function registerPolicyCommands(program: Command): void {
  const policy = commandGroup(program, 'policy', 'evaluate and test policy documents');

  policy
    .command('eval')
    .description('decide one command against a policy file and explain the verdict')
    .requiredOption('--policy <file>', 'policy document (YAML)')
    .requiredOption('--identity <json>', 'caller identity as JSON: {"subject":…,"kind":"service"|"human","groups":[…],"issuer":…}')
    .requiredOption('--resource <name>', 'resource name')
    .option('--resource-tags <tags>', 'comma-separated resource tags', '')
    .option('--resource-kind <kind>', 'postgres | ssh | http | kubernetes (default: from the protocol)')
    .option('--protocol <protocol>', 'postgres | ssh | http (default: from the command option)')
    .option('--sql <text>', 'SQL text')
    .option('--shell <command line>', 'shell command line')
    .option('--target-user <user>', 'for --shell: the login user on the target (what ~ means)')
    .option('--http <"METHOD PATH">', 'HTTP request line, e.g. "GET /api/v1/namespaces/default/pods"')
    .option('--header <"Name: value">', 'an HTTP request header the policy sees (repeatable), e.g. "Impersonate-User: admin"', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--json', 'print the decision as JSON')
    .action(async (opts: EvalOptions) => {
      process.exitCode = await policyEval(opts);
    });

  policy
    .command('test')
    .description('run the given/when/then cases of a tests file against the policy it names')
    .argument('<file>', 'tests file (YAML)')
    .option('-v, --verbose', 'also list the cases that pass')
    .action(async (file: string, opts: { verbose?: boolean }) => {
      process.exitCode = await policyTest(file, opts.verbose ?? false);
    });
}

// ---------------------------------------------------------------- shared

type When = PlaygroundCommand;

const KIND_OF_PROTOCOL = { postgres: 'postgres', ssh: 'ssh', http: 'http' } as const;

const buildCommand = (identity: Identity, resource: ResourceRef, when: When, protocol?: Protocol): CommandRequested =>
  playgroundCommand(identity, resource, when, protocol, 'cli-policy-eval');

function loadPolicy(file: string): { ok: true; state: PolicyState } | { ok: false; errors: PolicyError[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { ok: false, errors: [{ file, line: 0, path: '', message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }] };
  }
  return policyStateFromDocument(text, file);
}

function printErrors(errors: PolicyError[]): void {
  for (const e of errors) console.error(formatPolicyError(e));
}

function describe(decision: Decision): string[] {
  const lines = [`effect:  ${decision.effect}`, `rules:   ${decision.ruleIds.length ? decision.ruleIds.join(', ') : '(none)'}`, 'reasons:'];
  for (const r of decision.reasons) lines.push(`  - ${r}`);
  if (decision.classes.length) lines.push(`classes: ${decision.classes.join(', ')}`);
  if (decision.syntaxError) {
    const { message, position } = decision.syntaxError;
    lines.push(`syntax:  ${message}${position !== undefined ? ` at character ${position}` : ''} (the PostgreSQL proxy answers 42601)`);
  }
  if (decision.mask) {
    const m = decision.mask;
    const referenced = m.referenced.map((c) => `${c.table}.${c.column} (${c.strategy})`).join(', ');
    lines.push(`mask:    ${referenced ? `${referenced}${m.derived ? ', reached through expressions: every unproven output column is masked' : ''}` : 'no protected column referenced'}`);
    if (m.fields.length) lines.push(`         fields ${m.fields.join(', ')}`);
    if (m.detectors.length) lines.push(`         detectors ${m.detectors.join(', ')}`);
  }
  if (decision.approval) {
    const a = decision.approval;
    lines.push(`approval: ${a.quorum} of ${a.approverGroups.join(', ')} within ${a.ttlSeconds}s (rule ${a.ruleId})`);
  }
  lines.push(`policy version: ${decision.policyVersion}`);
  return lines;
}

// ---------------------------------------------------------------- eval

interface EvalOptions {
  policy: string;
  identity: string;
  resource: string;
  resourceTags: string;
  protocol?: string;
  sql?: string;
  shell?: string;
  targetUser?: string;
  http?: string;
  header?: string[];
  resourceKind?: string;
  json?: boolean;
}

const IdentityInput = z.object({
  subject: z.string().min(1),
  issuer: z.string().min(1).default('cli'),
  kind: z.enum(['human', 'service']).default('human'),
  groups: z.array(z.string()).default([]),
  name: z.string().optional(),
});

async function policyEval(opts: EvalOptions): Promise<number> {
  const given = [opts.sql, opts.shell, opts.http].filter((x) => x !== undefined);
  if (given.length !== 1) {
    console.error('error: give exactly one of --sql, --shell, --http');
    return 2;
  }
  let identity: Identity;
  try {
    const parsed = IdentityInput.safeParse(JSON.parse(opts.identity));
    if (!parsed.success) {
      console.error(`error: --identity: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'identity'}: ${i.message}`).join('; ')}`);
      return 2;
    }
    identity = parsed.data;
  } catch {
    console.error('error: --identity is not valid JSON');
    return 2;
  }
  const protocol = opts.protocol === undefined ? undefined : z.enum(['postgres', 'ssh', 'http']).safeParse(opts.protocol);
  if (protocol && !protocol.success) {
    console.error('error: --protocol must be postgres, ssh or http');
    return 2;
  }
  const loaded = loadPolicy(opts.policy);
  if (!loaded.ok) {
    printErrors(loaded.errors);
    return 2;
  }
  const headers: Record<string, string> = {};
  for (const h of opts.header ?? []) {
    const colon = h.indexOf(':');
    if (colon <= 0) {
      console.error(`error: --header ${JSON.stringify(h)}: write "Name: value"`);
      return 2;
    }
    headers[h.slice(0, colon).trim().toLowerCase()] = h.slice(colon + 1).trim();
  }
  const resourceKind = opts.resourceKind === undefined ? undefined : ResourceRef.shape.kind.safeParse(opts.resourceKind);
  if (resourceKind && !resourceKind.success) {
    console.error('error: --resource-kind must be postgres, ssh, http or kubernetes');
    return 2;
  }
  const when: When = opts.sql !== undefined ? { sql: opts.sql } : opts.shell !== undefined ? { shell: opts.shell } : { http: opts.http!, headers };
  const kind = opts.sql !== undefined ? 'postgres' : opts.shell !== undefined ? 'ssh' : 'http';
  const resource: ResourceRef = {
    name: opts.resource,
    kind: resourceKind?.data ?? KIND_OF_PROTOCOL[protocol?.data ?? kind],
    tags: opts.resourceTags.split(',').map((t) => t.trim()).filter(Boolean),
  };
  const built = buildCommand(identity, resource, when, protocol?.data);
  if (built.command.kind === 'shell' && opts.targetUser !== undefined) built.command.targetUser = opts.targetUser;
  const { decision } = await evaluate(built, loaded.state);
  if (opts.json) console.log(JSON.stringify(decision, null, 2));
  else console.log(describe(decision).join('\n'));
  return 0;
}

// ---------------------------------------------------------------- test

const IdentityOrName = z.union([z.string(), IdentityInput]);
const ResourceInput = z.object({
  name: z.string().min(1),
  kind: z.enum(['postgres', 'ssh', 'http', 'kubernetes', 'mcp']),
  tags: z.array(z.string()).default([]),
});
const TestsFile = z.strictObject({
  policy: z.string().min(1),
  identities: z.record(z.string(), IdentityInput).default({}),
  resources: z.record(z.string(), ResourceInput).default({}),
  tests: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        /** via: mcp — the command came through the MCP server or gateway. */
        given: z.strictObject({ identity: IdentityOrName, resource: z.union([z.string(), ResourceInput]), via: z.literal('mcp').optional() }),
        when: z.union([
          z.strictObject({ sql: z.string() }),
          z.strictObject({ shell: z.string() }),
          z.strictObject({ http: z.string().regex(/^\S+\s+\S+$/, 'write "METHOD PATH"'), headers: z.record(z.string(), z.string()).optional() }),
          /** An MCP gateway tool call: the tool, its arguments, whether its definition changed mid-session. */
          z.strictObject({ mcp: z.string().min(1), arguments: z.record(z.string(), z.unknown()).optional(), toolChanged: z.boolean().optional() }),
        ]),
        then: z.strictObject({
          effect: z.enum(['allow', 'mask', 'block', 'hold']),
          ruleIds: z.array(z.string()).optional(),
          /** Protected columns the statement references, as table.column. */
          masked: z.array(z.string()).optional(),
          derived: z.boolean().optional(),
        }),
      }),
    )
    .min(1),
});
type TestCase = z.infer<typeof TestsFile>['tests'][number];

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && [...a].sort().join('\n') === [...b].sort().join('\n');

function check(expected: TestCase['then'], decision: Decision): string[] {
  const problems: string[] = [];
  if (decision.effect !== expected.effect) problems.push(`effect: want ${expected.effect}, got ${decision.effect}`);
  if (expected.ruleIds && !sameSet(expected.ruleIds, decision.ruleIds)) {
    problems.push(`rules: want [${expected.ruleIds.join(', ')}], got [${decision.ruleIds.join(', ')}]`);
  }
  if (expected.masked) {
    const got = (decision.mask?.referenced ?? []).map((c) => `${c.table}.${c.column}`);
    if (!sameSet(expected.masked, got)) problems.push(`masked: want [${expected.masked.join(', ')}], got [${got.join(', ')}]`);
  }
  if (expected.derived !== undefined && (decision.mask?.derived ?? false) !== expected.derived) {
    problems.push(`derived: want ${expected.derived}, got ${decision.mask?.derived ?? false}`);
  }
  return problems;
}

async function policyTest(file: string, verbose: boolean): Promise<number> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    console.error(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    return 2;
  }
  const parsed = parseYamlWith(TestsFile, text, file);
  if (!parsed.ok) {
    printErrors(parsed.errors);
    return 2;
  }
  const suite = parsed.value;
  const policyFile = resolve(dirname(file), suite.policy);
  const loaded = loadPolicy(policyFile);
  if (!loaded.ok) {
    printErrors(loaded.errors);
    return 2;
  }

  const failures: { name: string; problems: string[]; decision?: Decision }[] = [];
  const passes: { name: string; ms: number }[] = [];
  for (const [i, t] of suite.tests.entries()) {
    const label = `${file}: ${t.name}`;
    const identity = typeof t.given.identity === 'string' ? suite.identities[t.given.identity] : t.given.identity;
    const resource = typeof t.given.resource === 'string' ? suite.resources[t.given.resource] : t.given.resource;
    if (!identity || !resource) {
      failures.push({ name: label, problems: [`tests[${i}]: unknown ${identity ? 'resource' : 'identity'} "${String(identity ? t.given.resource : t.given.identity)}"`] });
      continue;
    }
    const started = performance.now();
    const { decision } = await evaluate(buildCommand(identity, resource, { ...t.when, ...(t.given.via ? { via: t.given.via } : {}) } as When), loaded.state);
    const problems = check(t.then, decision);
    if (problems.length) failures.push({ name: label, problems, decision });
    else passes.push({ name: label, ms: performance.now() - started });
  }

  if (failures.length) {
    console.log('FAILURES');
    console.log('-'.repeat(80));
    for (const f of failures) {
      console.log(`${f.name}: FAIL`);
      for (const p of f.problems) console.log(`  ${p}`);
      if (f.decision) for (const r of f.decision.reasons) console.log(`  reason: ${r}`);
      console.log();
    }
  }
  if (verbose || failures.length) {
    console.log('SUMMARY');
    console.log('-'.repeat(80));
    for (const p of passes) console.log(`${p.name}: PASS (${p.ms.toFixed(1)}ms)`);
    for (const f of failures) console.log(`${f.name}: FAIL`);
    console.log('-'.repeat(80));
  }
  const total = suite.tests.length;
  console.log(`PASS: ${passes.length}/${total}`);
  if (failures.length) console.log(`FAIL: ${failures.length}/${total}`);
  return failures.length ? 1 : 0;
}
