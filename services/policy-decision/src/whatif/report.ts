/**
 * The what-if report: transitions (actual effect → draft effect) with counts,
 * who and what they touch, a few examples with the rules and reasons on both
 * sides, and the identities that would lose all access. Masking changes are
 * transitions too: mask→mask when the draft masks other columns or fields.
 */
import type { CommandRequested, MaskSpec } from '@portcullis/schemas';
import { commandText } from '@portcullis/schemas';
import type { CommandComparison, DecisionSide } from './compare.ts';

export interface TransitionExample {
  commandId: string;
  sessionId: string;
  occurredAt: string;
  identity: string;
  resource: string;
  command: string;
  actual: DecisionSide;
  draft: DecisionSide;
  /** For masking changes: what the draft would stop or start masking. */
  maskChange?: MaskChange;
}

export interface MaskChange {
  noLongerMasked: string[];
  newlyMasked: string[];
}

export interface Transition {
  /** "allow->block", "mask->allow", "mask->mask" (masking changed) … */
  transition: string;
  count: number;
  identities: string[];
  resources: string[];
  examples: TransitionExample[];
}

export interface WhatIfReport {
  commandsRead: number;
  compared: number;
  unchanged: number;
  /** Commands in range with no verdict in the log (refused before a verdict was recorded). */
  unjudged: number;
  verdictsWithoutCommand: number;
  transitions: Transition[];
  /** Identities that ran at least one command and would run none under the draft. */
  identitiesLosingAllAccess: string[];
}

export interface WhatIfReportBuilder {
  add(comparison: CommandComparison): void;
  unjudged(command: CommandRequested): void;
  build(counts: { commandsRead: number; verdictsWithoutCommand: number }): WhatIfReport;
}

/** Names kept per transition; the count says how many there were. */
const MAX_NAMES = 50;

const identityName = (c: CommandRequested): string => c.identity.subject;
const runs = (side: DecisionSide): boolean => side.effect === 'allow' || side.effect === 'mask';

function maskedItems(mask: MaskSpec | undefined): Set<string> {
  const items = new Set<string>();
  if (!mask) return items;
  for (const c of mask.referenced) items.add(`${c.table}.${c.column} (${c.strategy})`);
  if (mask.derived) items.add('(every output column it cannot prove clean)');
  for (const f of mask.fields) items.add(`field ${f}`);
  for (const d of mask.detectors) items.add(`detector ${d}`);
  return items;
}

export function maskChange(actual: MaskSpec | undefined, draft: MaskSpec | undefined): MaskChange | undefined {
  const before = maskedItems(actual);
  const after = maskedItems(draft);
  const noLongerMasked = [...before].filter((i) => !after.has(i)).sort();
  const newlyMasked = [...after].filter((i) => !before.has(i)).sort();
  return noLongerMasked.length || newlyMasked.length ? { noLongerMasked, newlyMasked } : undefined;
}

interface TransitionAccumulator {
  count: number;
  identities: Set<string>;
  resources: Set<string>;
  examples: TransitionExample[];
}

const addCapped = (set: Set<string>, value: string): void => {
  if (set.size < MAX_NAMES) set.add(value);
};

export function createWhatIfReport({ examplesPerTransition }: { examplesPerTransition: number }): WhatIfReportBuilder {
  const transitions = new Map<string, TransitionAccumulator>();
  const access = new Map<string, { actual: number; draft: number }>();
  let compared = 0;
  let unchanged = 0;
  let unjudged = 0;

  return {
    add({ command, actual, draft }) {
      compared += 1;
      const who = identityName(command);
      const counts = access.get(who) ?? { actual: 0, draft: 0 };
      if (runs(actual)) counts.actual += 1;
      if (runs(draft)) counts.draft += 1;
      access.set(who, counts);

      const masking = actual.effect === 'mask' || draft.effect === 'mask' ? maskChange(actual.mask, draft.mask) : undefined;
      if (actual.effect === draft.effect && (actual.effect !== 'mask' || masking === undefined)) {
        unchanged += 1;
        return;
      }
      const name = `${actual.effect}->${draft.effect}`;
      let acc = transitions.get(name);
      if (!acc) {
        acc = { count: 0, identities: new Set(), resources: new Set(), examples: [] };
        transitions.set(name, acc);
      }
      acc.count += 1;
      addCapped(acc.identities, who);
      addCapped(acc.resources, command.resource.name);
      // Keep the earliest examples, so the report does not depend on how the partitions interleaved.
      const earlier = (e: TransitionExample): boolean => command.occurredAt < e.occurredAt || (command.occurredAt === e.occurredAt && command.commandId < e.commandId);
      if (acc.examples.length < examplesPerTransition || earlier(acc.examples[acc.examples.length - 1]!)) {
        acc.examples.push({
          commandId: command.commandId,
          sessionId: command.sessionId,
          occurredAt: command.occurredAt,
          identity: who,
          resource: command.resource.name,
          command: commandText(command.command),
          actual,
          draft,
          ...(masking ? { maskChange: masking } : {}),
        });
        acc.examples.sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.commandId < b.commandId ? -1 : 1));
        if (acc.examples.length > examplesPerTransition) acc.examples.pop();
      }
    },
    unjudged() {
      unjudged += 1;
    },
    build({ commandsRead, verdictsWithoutCommand }) {
      return {
        commandsRead,
        compared,
        unchanged,
        unjudged,
        verdictsWithoutCommand,
        transitions: [...transitions.entries()]
          .map(([transition, a]) => ({
            transition,
            count: a.count,
            identities: [...a.identities].sort(),
            resources: [...a.resources].sort(),
            examples: a.examples,
          }))
          .sort((a, b) => b.count - a.count || a.transition.localeCompare(b.transition)),
        identitiesLosingAllAccess: [...access.entries()]
          .filter(([, c]) => c.actual > 0 && c.draft === 0)
          .map(([who]) => who)
          .sort(),
      };
    },
  };
}

/** Parses "allow->block,mask->allow" (also "allow→block", "*->block"). */
export function parseTransitionList(text: string): { ok: true; patterns: [string, string][] } | { ok: false; error: string } {
  const effects = new Set(['allow', 'mask', 'block', 'hold', '*']);
  const patterns: [string, string][] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const parts = raw.split(/->|→/);
    if (parts.length !== 2 || !effects.has(parts[0]!.trim()) || !effects.has(parts[1]!.trim())) {
      return { ok: false, error: `"${raw}" is not a transition: write FROM->TO with allow, mask, block, hold or *` };
    }
    patterns.push([parts[0]!.trim(), parts[1]!.trim()]);
  }
  if (patterns.length === 0) return { ok: false, error: 'no transition given' };
  return { ok: true, patterns };
}

/** The transitions of the report that one of the patterns names. */
export function failingTransitions(report: WhatIfReport, patterns: [string, string][]): Transition[] {
  return report.transitions.filter((t) => {
    const [from, to] = t.transition.split('->');
    return patterns.some(([f, tt]) => (f === '*' || f === from) && (tt === '*' || tt === to));
  });
}
