/**
 * What-if: re-decide recorded commands under a draft policy and compare with
 * the verdict that was really issued. Pure: the caller feeds the log's events
 * (CommandRequested and VerdictIssued, in log order per session) and reads the
 * report; no Kafka, no clock.
 *
 * A command and its verdict live on two topics, so either may arrive first.
 * Each side waits in a map until the other comes; both maps hold only the
 * skew between the two streams, so memory stays bounded on long histories.
 */
import type { CommandRequested, Effect, MaskSpec, VerdictIssued } from '@portcullis/schemas';
import { analyze } from '../analysis/index.ts';
import { emptySqlSession, type SqlSessionState } from '../analysis/sql.ts';
import type { Analysis } from '../analysis/types.ts';
import { advanceSession } from '../evaluate.ts';
import type { PolicyState } from '../policy/state.ts';
import { createDecisionCache } from './decision-cache.ts';
import { createWhatIfReport, type WhatIfReport, type WhatIfReportBuilder } from './report.ts';

export interface WhatIfFilter {
  /** ISO times; a command is included when since <= occurredAt < until. */
  since?: string;
  until?: string;
  /** Identity subject. */
  identity?: string;
  resource?: string;
  protocol?: CommandRequested['protocol'];
}

/** The side of a comparison that either decision produced. */
export interface DecisionSide {
  effect: Effect;
  ruleIds: string[];
  reasons: string[];
  mask?: MaskSpec;
}

export interface CommandComparison {
  command: CommandRequested;
  actual: DecisionSide;
  draft: DecisionSide;
}

export interface WhatIf {
  /** Feed a CommandRequested from the log. Returns once it is re-decided. */
  onCommand(command: CommandRequested): Promise<void>;
  /** Feed a VerdictIssued from the log (later verdicts of the same command, e.g. a held command's final one, are ignored). */
  onVerdict(verdict: VerdictIssued): void;
  /** Commands read so far, including those filtered out. */
  readonly seen: number;
  /** The report; commands still without a verdict are counted as unjudged. */
  finish(): WhatIfReport;
}

export interface WhatIfOptions {
  draft: PolicyState;
  filter?: WhatIfFilter;
  /** SQL session states kept at once (prepared statements); the least recently used is dropped past it. */
  maxSessions?: number;
  /** Examples kept per transition. */
  examplesPerTransition?: number;
  /** Analyses kept for reuse (shell and HTTP depend on the command alone, SQL on its text when no statement is prepared); 0 turns it off. */
  analysisCacheSize?: number;
  /** Draft decisions kept for reuse (decision-cache.ts); 0 decides every command afresh. */
  decisionCacheSize?: number;
}

export function matchesFilter(command: CommandRequested, filter: WhatIfFilter): boolean {
  if (filter.since !== undefined && command.occurredAt < filter.since) return false;
  if (filter.until !== undefined && command.occurredAt >= filter.until) return false;
  if (filter.identity !== undefined && command.identity.subject !== filter.identity) return false;
  if (filter.resource !== undefined && command.resource.name !== filter.resource) return false;
  if (filter.protocol !== undefined && command.protocol !== filter.protocol) return false;
  return true;
}

const sideOfVerdict = (v: VerdictIssued): DecisionSide => ({ effect: v.effect, ruleIds: v.ruleIds, reasons: v.reasons, ...(v.mask ? { mask: v.mask } : {}) });

/** A verdict after an approval closed carries the approval id and a non-hold effect: not the policy's own answer. */
const isPostApprovalVerdict = (v: VerdictIssued): boolean => v.approvalId !== undefined && v.effect !== 'hold';

export function createWhatIf({ draft, filter = {}, maxSessions = 100_000, examplesPerTransition = 3, analysisCacheSize = 10_000, decisionCacheSize = 10_000 }: WhatIfOptions): WhatIf {
  const report: WhatIfReportBuilder = createWhatIfReport({ examplesPerTransition });
  const decisions = createDecisionCache(draft, decisionCacheSize);
  const sessions = new Map<string, SqlSessionState>();
  const waitingForVerdict = new Map<string, { command: CommandRequested; draft: DecisionSide }>();
  const waitingForCommand = new Map<string, VerdictIssued>();
  /** Commands outside the filter whose verdict has not been read yet. */
  const ignored = new Set<string>();
  let seen = 0;

  function sessionOf(sessionId: string): SqlSessionState {
    const state = sessions.get(sessionId);
    if (state === undefined) return emptySqlSession();
    // Re-insert: Map iteration order is insertion order, so the first key is the least recently used.
    sessions.delete(sessionId);
    sessions.set(sessionId, state);
    return state;
  }

  // A history repeats itself: the same `uptime`, `GET /api/v1/…/pods` or `BEGIN` thousands of times.
  // Shell and HTTP analyses depend on the command alone, so each distinct one is analysed once.
  // A SQL analysis also reads the session's prepared statements: reused only while the session has none
  // (literal-varying SQL misses here and relies on the decision cache instead).
  const analyses = new Map<string, Analysis>();
  async function analysisOf(command: CommandRequested, session: SqlSessionState): Promise<Analysis> {
    const cmd = command.command;
    const cacheable = analysisCacheSize > 0 && (cmd.kind !== 'sql' || (session.prepared.size === 0 && cmd.phase !== 'bind'));
    if (!cacheable) return analyze(command, session);
    const key = cmd.kind === 'sql' ? `sql\u0000${cmd.text}` : cmd.kind === 'http' ? `${command.resource.kind}\u0000${JSON.stringify(cmd)}` : JSON.stringify(cmd);
    const cached = analyses.get(key);
    if (cached) return cached;
    const analysis = await analyze(command, session);
    analyses.set(key, analysis);
    if (analyses.size > analysisCacheSize) analyses.delete(analyses.keys().next().value as string);
    return analysis;
  }

  function remember(sessionId: string, state: SqlSessionState): void {
    sessions.set(sessionId, state);
    if (sessions.size > maxSessions) sessions.delete(sessions.keys().next().value as string);
  }

  return {
    get seen() {
      return seen;
    },
    async onCommand(command) {
      seen += 1;
      if (!matchesFilter(command, filter)) {
        if (!waitingForCommand.delete(command.commandId)) ignored.add(command.commandId);
        return;
      }
      // Sessions are replayed in order under the draft, so prepared statements and
      // transaction state depend on what the draft would have let run.
      const session = sessionOf(command.sessionId);
      const analysis = await analysisOf(command, session);
      const draftSide = decisions.decide(command, analysis);
      if (command.command.kind === 'sql' && (draftSide.effect === 'allow' || draftSide.effect === 'mask')) {
        remember(command.sessionId, advanceSession(session, command, analysis));
      }
      const verdict = waitingForCommand.get(command.commandId);
      if (verdict) {
        waitingForCommand.delete(command.commandId);
        report.add({ command, actual: sideOfVerdict(verdict), draft: draftSide });
      } else {
        waitingForVerdict.set(command.commandId, { command, draft: draftSide });
      }
    },
    onVerdict(verdict) {
      if (isPostApprovalVerdict(verdict) || ignored.delete(verdict.commandId)) return;
      const pending = waitingForVerdict.get(verdict.commandId);
      if (pending) {
        waitingForVerdict.delete(verdict.commandId);
        report.add({ command: pending.command, actual: sideOfVerdict(verdict), draft: pending.draft });
      } else if (!waitingForCommand.has(verdict.commandId)) {
        waitingForCommand.set(verdict.commandId, verdict);
      }
    },
    finish() {
      for (const { command } of waitingForVerdict.values()) report.unjudged(command);
      return report.build({ commandsRead: seen, verdictsWithoutCommand: waitingForCommand.size });
    },
  };
}
