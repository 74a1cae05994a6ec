/**
 * The policy decision: pure and deterministic. Same command, analysis and
 * policy state → same decision. No I/O and no clock: time comes from the
 * command's occurredAt.
 */
import type { CommandRequested, Effect, MaskSpec, VerdictIssued } from '@portcullis/schemas';
import type { Analysis, ColumnRef, SimpleCommandAnalysis } from './analysis/types.ts';
import type { PolicyState } from './policy/state.ts';
import type { CompiledRule } from './policy/compile.ts';
import type { ApprovalSpec } from './policy/document.ts';
import { matchesContext, matchesUnit, type Unit } from './match.ts';

export interface ApprovalRequirement {
  /** The hold rule whose approval applies ("default" when the default effect held the command). */
  ruleId: string;
  approverGroups: string[];
  quorum: number;
  ttlSeconds: number;
  /** occurredAt of the command plus the time to live. */
  expiresAt: string;
}

export interface Decision {
  effect: Effect;
  /** The rules that decided the effect, in document order. */
  ruleIds: string[];
  reasons: string[];
  mask?: MaskSpec;
  /** The target's parser would reject the command too (see VerdictIssued.syntaxError). */
  syntaxError?: { message: string; position?: number };
  /** SQL statement classes or HTTP request classes the analysis found (for audit queries). */
  classes: string[];
  policyVersion: number;
  approval?: ApprovalRequirement;
}

const RANK: Record<Effect, number> = { allow: 0, mask: 1, hold: 2, block: 3 };
const stricter = (a: Effect, b: Effect): Effect => (RANK[a] >= RANK[b] ? a : b);

const PROTOCOL_OF_KIND = { sql: 'postgres', shell: 'ssh', http: 'http', 'mcp-tool': 'mcp' } as const;

const short = (text: string, max = 80): string => {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
};

function blocked(reason: string, policyVersion: number, classes: string[] = []): Decision {
  return { effect: 'block', ruleIds: [], reasons: [reason], classes, policyVersion };
}

function unitsOf(command: CommandRequested, analysis: Exclude<Analysis, { ok: false }>): Unit[] {
  switch (analysis.kind) {
    case 'sql':
      return analysis.statements.map((statement, i) => ({
        kind: 'sql',
        label: () => (analysis.statements.length > 1 ? `statement ${i + 1} (${short(statement.text)})` : `"${short(statement.text)}"`),
        statement,
      }));
    case 'shell': {
      const cmd = command.command;
      if (cmd.kind === 'shell' && cmd.channel !== 'exec' && cmd.channel !== 'shell') {
        const name = cmd.subsystem ?? (cmd.forward ? `${cmd.forward.host}:${cmd.forward.port}` : '');
        return [{ kind: 'channel', label: () => `${cmd.channel}${name ? ` ${name}` : ''}`, channel: cmd.channel, name }];
      }
      const channel = cmd.kind === 'shell' && cmd.channel === 'shell' ? 'shell' : 'exec';
      return analysis.commands.map((c) => ({ kind: 'shell', label: () => `"${short(shellLabel(c))}"`, command: c, channel }));
    }
    case 'http':
      // Classes in the label say why a rule that seems to cover the request does not (only a rule naming them does).
      return [{ kind: 'http', label: () => `${analysis.method} ${short(analysis.path)}${analysis.classes.length ? ` (class ${analysis.classes.join(', ')})` : ''}`, request: analysis }];
    case 'mcp':
      return [{ kind: 'mcp', label: () => `tool ${short(analysis.tool)}${analysis.classes.length ? ` (class ${analysis.classes.join(', ')})` : ''}`, call: analysis }];
  }
}

/** A simple command as a reason names it: its assignments, words and redirections. */
function shellLabel(c: SimpleCommandAnalysis): string {
  const redirects = c.redirects.map((r) => `${r.fd ?? ''}${r.op}${r.op.endsWith('&') ? '' : ' '}${r.target}`);
  return [...(c.env ?? []), c.path, ...c.args, ...redirects].filter((w) => w !== '').join(' ');
}

interface UnitVerdict {
  effect: Effect;
  /** Rules that took part: allow rules that covered, restrictive rules that applied. */
  rules: CompiledRule[];
  /** Set when the unit fell to the default effect. */
  byDefault: boolean;
}

export function decide(command: CommandRequested, analysis: Analysis, state: PolicyState): Decision {
  const version = state.version;
  const policy = state.policy;
  if (version === 0 || !policy) return blocked('no policy published', version);
  if (state.knownResources && !state.knownResources.has(command.resource.name)) {
    return blocked(`unknown resource "${command.resource.name}"`, version);
  }
  if (PROTOCOL_OF_KIND[command.command.kind] !== command.protocol) {
    return blocked(`a ${command.command.kind} command cannot arrive over ${command.protocol}`, version);
  }
  if (!analysis.ok) {
    const decision = blocked(`unparseable: ${analysis.error.replace(/^unparseable:\s*/, '')}`, version);
    // Only SQL text the caller sent can be answered as the target's syntax error; a FunctionCall message has none.
    const callerText = command.command.kind === 'sql' && command.command.phase !== 'function-call';
    return analysis.syntaxError && callerText ? { ...decision, syntaxError: analysis.syntaxError } : decision;
  }
  if (analysis.kind !== (command.command.kind === 'mcp-tool' ? 'mcp' : command.command.kind)) return blocked(`unparseable: ${analysis.kind} analysis for a ${command.command.kind} command`, version);

  const classes = analysis.kind === 'sql' ? [...new Set(analysis.statements.flatMap((s) => s.classes))] : analysis.kind === 'http' || analysis.kind === 'mcp' ? [...analysis.classes] : [];
  // Refused by construction, before any rule: the gateway could no longer read later statements as the target does.
  const refused = analysis.kind === 'sql' ? analysis.statements.find((s) => s.refused !== undefined)?.refused : undefined;
  if (refused !== undefined) return blocked(refused, version, classes);
  const rules = policy.rules.filter((r) => matchesContext(r, command));
  const units = unitsOf(command, analysis);
  const defaultEffect = policy.defaultEffect;

  if (units.length === 0 && analysis.kind === 'sql') {
    // Empty, whitespace, `;` or comments only: PostgreSQL's parser finds no statement and the target
    // answers EmptyQueryResponse, running nothing (drivers send "" as a liveness check).
    return { effect: 'allow', ruleIds: [], reasons: ['no SQL statement in the command: nothing runs'], classes, policyVersion: version };
  }
  if (units.length === 0) {
    return {
      effect: defaultEffect,
      ruleIds: [],
      reasons: [`nothing to judge in the command; the default is ${defaultEffect}`],
      classes,
      policyVersion: version,
      ...(defaultEffect === 'hold' ? { approval: approvalFrom('default', policy.defaultApproval!, command.occurredAt) } : {}),
    };
  }

  const verdicts: UnitVerdict[] = units.map((unit) => {
    let effect: Effect = 'allow';
    const taking: CompiledRule[] = [];
    let admitted = false;
    for (const rule of rules) {
      if (rule.effect === 'allow' || rule.effect === 'hold') {
        if (matchesUnit(rule, unit, 'covers')) {
          admitted = true;
          if (rule.effect === 'allow') taking.push(rule);
        }
      }
      if (rule.effect !== 'allow' && matchesUnit(rule, unit, 'applies')) {
        taking.push(rule);
        effect = stricter(effect, rule.effect);
      }
    }
    if (!admitted) effect = stricter(effect, defaultEffect);
    return { effect, rules: taking, byDefault: !admitted };
  });

  const effect = verdicts.reduce<Effect>((e, v) => stricter(e, v.effect), 'allow');
  // The deciding rules: those whose effect is the verdict's (mask rules also ride along with a hold).
  const deciding = new Map<string, CompiledRule>();
  const reasons: string[] = [];
  units.forEach((unit, i) => {
    const v = verdicts[i]!;
    if (v.effect !== effect) return;
    if (v.byDefault && defaultEffect === effect) {
      reasons.push(`no rule allows ${unit.label()}; the default is ${defaultEffect}`);
    }
    for (const r of v.rules) if (r.effect === effect && !deciding.has(r.id)) deciding.set(r.id, r);
  });
  const ordered = [...deciding.values()].sort((a, b) => a.index - b.index);
  for (const r of ordered) if (!reasons.includes(r.reason)) reasons.push(r.reason);

  const decision: Decision = { effect, ruleIds: ordered.map((r) => r.id), reasons, classes, policyVersion: version };

  if (effect === 'mask' || effect === 'hold') {
    const maskRules = [...new Map(verdicts.flatMap((v) => v.rules).filter((r) => r.effect === 'mask').map((r) => [r.id, r])).values()].sort((a, b) => a.index - b.index);
    if (maskRules.length) {
      decision.mask = combineMasks(maskRules, analysis.kind === 'sql' ? analysis.statements.flatMap((s) => s.columns) : []);
      if (effect === 'hold') for (const r of maskRules) if (!decision.ruleIds.includes(r.id)) decision.ruleIds.push(r.id);
    }
  }
  if (effect === 'hold' && command.command.kind === 'sql' && command.command.phase === 'parse') {
    // Nothing runs at Parse: each execution is a command of its own (phase 'bind', with its bound
    // parameters), and that is what an approver is asked about. Blocked statements are refused here.
    return { ...decision, effect: decision.mask ? 'mask' : 'allow', reasons: [...reasons, 'prepared only: each execution is held for approval with its parameters'] };
  }
  if (effect === 'hold') {
    const holds = ordered.filter((r) => r.effect === 'hold' && r.approval);
    // The most demanding approval wins: highest quorum, then shortest time to live, then document order.
    const strictest = [...holds].sort((a, b) => b.approval!.quorum - a.approval!.quorum || a.approval!.ttl - b.approval!.ttl || a.index - b.index)[0];
    decision.approval = strictest ? approvalFrom(strictest.id, strictest.approval!, command.occurredAt) : approvalFrom('default', policy.defaultApproval!, command.occurredAt);
  }
  return decision;
}

function approvalFrom(ruleId: string, spec: ApprovalSpec, occurredAt: string): ApprovalRequirement {
  return {
    ruleId,
    approverGroups: [...spec.approverGroups],
    quorum: spec.quorum,
    ttlSeconds: spec.ttl,
    expiresAt: new Date(Date.parse(occurredAt) + spec.ttl * 1000).toISOString(),
  };
}

/** Relation names compare case-insensitively; a side without a schema may be any schema. */
function sameTable(protectedTable: string, referenced: string): boolean {
  if (referenced === '*') return true;
  const a = protectedTable.toLowerCase();
  const b = referenced.toLowerCase();
  if (a === b) return true;
  const [as, ar] = a.includes('.') ? [a.slice(0, a.lastIndexOf('.')), a.slice(a.lastIndexOf('.') + 1)] : [undefined, a];
  const [bs, br] = b.includes('.') ? [b.slice(0, b.lastIndexOf('.')), b.slice(b.lastIndexOf('.') + 1)] : [undefined, b];
  return ar === br && (as === undefined || bs === undefined || as === bs);
}

function combineMasks(rules: CompiledRule[], refs: ColumnRef[]): MaskSpec {
  const columns: MaskSpec['columns'] = [];
  const seen = new Set<string>();
  const fields = new Set<string>();
  const detectors = new Set<MaskSpec['detectors'][number]>();
  for (const r of rules) {
    for (const c of r.mask?.columns ?? []) {
      const key = `${c.table.toLowerCase()}.${c.column.toLowerCase()}`;
      if (!seen.has(key)) {
        seen.add(key);
        columns.push({ table: c.table, column: c.column, strategy: c.strategy });
      }
    }
    for (const f of r.mask?.fields ?? []) fields.add(f);
    for (const d of r.mask?.detectors ?? []) detectors.add(d);
  }
  const referenced: MaskSpec['referenced'] = [];
  let derived = false;
  for (const pc of columns) {
    const hits = refs.filter((ref) => sameTable(pc.table, ref.table) && (ref.column === '*' || ref.column.toLowerCase() === pc.column.toLowerCase()));
    if (hits.length === 0) continue;
    referenced.push(pc);
    if (hits.some((h) => !h.plain)) derived = true;
  }
  return { columns, referenced, derived, fields: [...fields], detectors: [...detectors] };
}

/** The VerdictIssued event for a decision; ids and time are the caller's (the Kafka loop). */
export function toVerdictIssued(
  command: CommandRequested,
  decision: Decision,
  envelope: { eventId: string; occurredAt: string; approvalId?: string },
): VerdictIssued {
  return {
    type: 'VerdictIssued',
    eventId: envelope.eventId,
    occurredAt: envelope.occurredAt,
    sessionId: command.sessionId,
    commandId: command.commandId,
    effect: decision.effect,
    ruleIds: decision.ruleIds,
    reasons: decision.reasons,
    ...(decision.mask ? { mask: decision.mask } : {}),
    ...(envelope.approvalId ? { approvalId: envelope.approvalId } : {}),
    policyVersion: decision.policyVersion,
    final: decision.effect !== 'hold',
    classes: decision.classes,
  };
}
