import type { CommandRequested, VerdictIssued } from '@portcullis/schemas';
import { describeError, PortcullisError, type ErrorCode } from '../errors.ts';
import type { CommandGate } from './ports.ts';
import { gatewayMetrics, secondsSince } from '../operability/metrics.ts';
import { commandRuns, commandSpan, endCommandSpan, endSpan, startSpan } from '../operability/tracing.ts';

/** Why the gateway did not run a command; each proxy words it in its own protocol. */
export class CommandRefusal extends PortcullisError {
  /** The verdict that refused it (block, or the final verdict after a hold). */
  readonly verdict: VerdictIssued | undefined;
  /** The approval the command was held for, if it was held. */
  readonly approvalId: string | undefined;
  /** What went wrong underneath (the gate's error, the verdict's reasons), without the code's summary. */
  readonly detail: string;

  constructor(code: ErrorCode, detail: string, extra: { verdict?: VerdictIssued; approvalId?: string; cause?: unknown } = {}) {
    super(code, detail, extra.cause === undefined ? {} : { cause: extra.cause });
    this.name = 'CommandRefusal';
    this.detail = detail;
    this.verdict = extra.verdict;
    this.approvalId = extra.approvalId;
  }
}

export type JudgeOutcome = { run: true; verdict: VerdictIssued; approvalId?: string } | { run: false; refusal: CommandRefusal };

export interface JudgeOptions {
  /** How long the gate may take for the first verdict; a backstop one second later covers a stuck gate. */
  timeoutMs: number;
  /** How long a held command waits for its approval. */
  holdTimeoutMs: number;
  /** The caller went away or cancelled: stop waiting (and withdraw a pending approval). */
  signal?: AbortSignal;
  /** A hold: tell the caller (a notice, stderr) before waiting. */
  onHold?: (verdict: VerdictIssued) => void;
  /** `return`: do not wait for the approval; refuse with PCL_ERR_HELD (HTTP respond mode). Default `wait`. */
  hold?: 'wait' | 'return';
}

/**
 * The one judge path of every proxy: first verdict (deadline, abort) →
 * hold: wait for the final verdict (deadline, abort; a wait that ends
 * without a final verdict withdraws the approval request so approvers do
 * not act on a command no one waits for) → run or refuse. Never throws:
 * every failure is a refusal (fail closed).
 */
export async function judgeCommand(gate: CommandGate, command: CommandRequested, options: JudgeOptions): Promise<JudgeOutcome> {
  const outcome = await judge(gate, command, options);
  const { protocol, resource } = command;
  const effect = outcome.run ? outcome.verdict.effect : refusalEffect(outcome.refusal);
  gatewayMetrics().commands.inc({ protocol, resource: resource.name, effect });
  if (outcome.run) commandRuns(command.commandId, effect);
  else endCommandSpan(command.commandId, { effect, failure: outcome.refusal.code });
  return outcome;
}

/** The `effect` label of a refused command: `block` for a policy block, else the refusal (`approval-denied`, `no-verdict`, …). */
export function refusalEffect(refusal: CommandRefusal): string {
  if (refusal.code === 'PCL_ERR_BLOCKED') return 'block';
  return refusal.code.slice('PCL_ERR_'.length).toLowerCase().replaceAll('_', '-');
}

async function judge(gate: CommandGate, command: CommandRequested, options: JudgeOptions): Promise<JudgeOutcome> {
  const { signal } = options;
  const metrics = gatewayMetrics();
  let verdict: VerdictIssued;
  const startedAt = performance.now();
  // decide: the verdict, recorded in the log with the command before it is returned.
  const decide = startSpan('decide', commandSpan(command.commandId));
  try {
    verdict = await untilAborted(withDeadline(gate.judge(command, { timeoutMs: options.timeoutMs, ...(signal ? { signal } : {}) }), options.timeoutMs + 1000, `no verdict within ${options.timeoutMs} ms`), signal);
    metrics.decisionSeconds.observe({ protocol: command.protocol }, secondsSince(startedAt));
    decide.setAttribute('portcullis.effect', verdict.effect);
    endSpan(decide);
  } catch (err) {
    endSpan(decide, describeError(err));
    if (signal?.aborted) return refused('PCL_ERR_CANCELLED', 'the caller cancelled or went away while the command was judged', { cause: err });
    return refused(codeOf(err, 'PCL_ERR_NO_VERDICT'), describeError(err), { cause: err });
  }
  if (verdict.effect === 'hold') {
    const approvalId = verdict.approvalId ?? command.commandId;
    if (options.hold === 'return') return refused('PCL_ERR_HELD', `held for approval ${approvalId}`, { verdict, approvalId });
    options.onHold?.(verdict);
    const pending = metrics.holdsPending.labels({ protocol: command.protocol });
    pending.inc();
    const hold = startSpan('hold', commandSpan(command.commandId), { 'portcullis.approval_id': approvalId });
    try {
      verdict = await untilAborted(
        withDeadline(gate.awaitFinal(command.commandId, { timeoutMs: options.holdTimeoutMs, ...(signal ? { signal } : {}) }), options.holdTimeoutMs + 1000, `no decision within ${options.holdTimeoutMs} ms`),
        signal,
      );
    } catch (err) {
      const aborted = signal?.aborted === true;
      const reason = aborted ? 'the client disconnected or cancelled while waiting' : 'the gateway stopped waiting for an approval';
      void gate.cancelHold?.({ approvalId, sessionId: command.sessionId, reason }).catch(() => undefined);
      if (aborted) return refused('PCL_ERR_CANCELLED', `the caller went away while approval ${approvalId} was pending; the approval was withdrawn`, { approvalId, cause: err });
      return refused('PCL_ERR_HOLD_UNRESOLVED', describeError(err), { approvalId, cause: err });
    } finally {
      pending.dec();
      endSpan(hold);
    }
    if (verdict.effect === 'block' || verdict.effect === 'hold') return refused('PCL_ERR_APPROVAL_DENIED', describeVerdict(verdict), { verdict, approvalId });
    return { run: true, verdict, approvalId };
  }
  if (verdict.effect === 'block') return refused('PCL_ERR_BLOCKED', describeVerdict(verdict), { verdict });
  return { run: true, verdict };
}

/** "rule a, b: reason; reason" — how every proxy names what decided. */
export function describeVerdict(verdict: VerdictIssued): string {
  const rules = verdict.ruleIds.length > 0 ? `rule ${verdict.ruleIds.join(', ')}` : 'no rule allows it (default block)';
  return verdict.reasons.length > 0 ? `${rules}: ${verdict.reasons.join('; ')}` : rules;
}

function refused(code: ErrorCode, detail: string, extra: { verdict?: VerdictIssued; approvalId?: string; cause?: unknown }): JudgeOutcome {
  return { run: false, refusal: new CommandRefusal(code, detail, extra) };
}

/** A gate error that says what it is (stale policy) keeps its code; anything else is "no verdict". */
function codeOf(err: unknown, fallback: ErrorCode): ErrorCode {
  return err instanceof PortcullisError && err.code === 'PCL_ERR_POLICY_STALE' ? err.code : fallback;
}

export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PortcullisError('PCL_ERR_VERDICT_TIMEOUT', message)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Rejects as soon as the signal aborts, whatever the promise does. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(new PortcullisError('PCL_ERR_CANCELLED', 'aborted'));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new PortcullisError('PCL_ERR_CANCELLED', 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
