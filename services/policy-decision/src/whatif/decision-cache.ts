/**
 * Decisions remembered across a what-if run. A history repeats itself with
 * other literals (`… WHERE customer_id = 17`, `… = 18`, …): the analyses
 * differ only in the statement text, and under one draft the decision is the
 * same. `decide` is pure, so a decision is reused when every input it reads
 * is the same:
 *
 *  - the identity (subject, kind, issuer, groups), the resource (name, tags)
 *    and the protocol, which rules match on;
 *  - the command's shape that decide reads besides the analysis (kind,
 *    channel, subsystem, forward target, SQL phase);
 *  - the analysis, except the statements' text.
 *
 * The statement text reaches a decision only through a reason that quotes
 * the statement ("no rule allows "…"; the default is block"). Whether decide
 * quotes it depends on the other inputs alone, so the first decision for a
 * key says it: a decision that read the text is remembered per text instead.
 * The approval's expiry (from occurredAt) is not part of a what-if side, so
 * it is not remembered.
 */
import type { CommandRequested } from '@portcullis/schemas';
import type { Analysis, SqlStatementAnalysis } from '../analysis/types.ts';
import { decide } from '../decide.ts';
import type { PolicyState } from '../policy/state.ts';
import type { DecisionSide } from './compare.ts';
import { LruCache } from '../lru-cache.ts';

export interface DecisionCache {
  /** The draft's decision for the command, as a what-if side. */
  decide(command: CommandRequested, analysis: Analysis): DecisionSide;
}

/** Marks a key whose decision quotes the statement text: look up by key and text. */
const QUOTES_TEXT = 'quotes-text';

function contextKey(command: CommandRequested): string {
  const { identity, resource, protocol } = command;
  const cmd = command.command;
  const shape = cmd.kind === 'shell'
    ? [cmd.kind, cmd.channel, cmd.subsystem ?? '', cmd.forward ? `${cmd.forward.host}:${cmd.forward.port}` : '']
    : cmd.kind === 'sql' ? [cmd.kind, cmd.phase] : [cmd.kind];
  return JSON.stringify([identity.subject, identity.kind, identity.issuer, identity.groups, resource.name, resource.tags, protocol, shape]);
}

const withoutText = (s: SqlStatementAnalysis): Omit<SqlStatementAnalysis, 'text'> & { text?: undefined } => ({ ...s, text: undefined });

/** The analysis as decide reads it, minus the statements' text; memoised per analysis object (the analysis cache hands out the same one). */
const analysisKeys = new WeakMap<Analysis, string>();
function analysisKey(analysis: Analysis): string {
  let key = analysisKeys.get(analysis);
  if (key === undefined) {
    key = JSON.stringify(analysis.ok && analysis.kind === 'sql' ? { ...analysis, statements: analysis.statements.map(withoutText) } : analysis);
    analysisKeys.set(analysis, key);
  }
  return key;
}

const textsOf = (analysis: Analysis): string => (analysis.ok && analysis.kind === 'sql' ? JSON.stringify(analysis.statements.map((s) => s.text)) : '');

/** The analysis with each statement's text behind a getter that notes the read. */
function observingText(analysis: Analysis, onRead: () => void): Analysis {
  if (!analysis.ok || analysis.kind !== 'sql') return analysis;
  return {
    ...analysis,
    statements: analysis.statements.map((s) => {
      const { text, ...rest } = s;
      return Object.defineProperty(rest, 'text', { enumerable: true, get: () => (onRead(), text) }) as SqlStatementAnalysis;
    }),
  };
}

const sideOf = (command: CommandRequested, analysis: Analysis, draft: PolicyState): DecisionSide => {
  const d = decide(command, analysis, draft);
  return { effect: d.effect, ruleIds: d.ruleIds, reasons: d.reasons, ...(d.mask ? { mask: d.mask } : {}) };
};

/** `size`: entries kept, least recently used out first; 0 decides every command afresh. */
export function createDecisionCache(draft: PolicyState, size: number): DecisionCache {
  const entries = new LruCache<string, DecisionSide | typeof QUOTES_TEXT>(size);
  const remember = (key: string, value: DecisionSide | typeof QUOTES_TEXT): void => entries.set(key, value);
  const recall = (key: string): DecisionSide | typeof QUOTES_TEXT | undefined => entries.get(key);

  return {
    decide(command, analysis) {
      if (size === 0) return sideOf(command, analysis, draft);
      const key = `${contextKey(command)}\u0000${analysisKey(analysis)}`;
      const known = recall(key);
      if (known !== undefined && known !== QUOTES_TEXT) return known;
      if (known === QUOTES_TEXT) {
        const textKey = `${key}\u0000${textsOf(analysis)}`;
        const byText = recall(textKey);
        if (byText !== undefined && byText !== QUOTES_TEXT) return byText;
        const side = sideOf(command, analysis, draft);
        remember(textKey, side);
        return side;
      }
      let readText = false;
      const side = sideOf(command, observingText(analysis, () => (readText = true)), draft);
      if (readText) {
        remember(key, QUOTES_TEXT);
        remember(`${key}\u0000${textsOf(analysis)}`, side);
      } else {
        remember(key, side);
      }
      return side;
    },
  };
}
