/**
 * The PDP as the independent verifier of verdicts issued at the edge. Each
 * command marked `decision: edge` is paired with its VerdictIssued (they
 * travel on two topics, so either may arrive first), decided again under
 * the policy version the verdict names, and a VerdictDisputed is published
 * when the effect or the deciding rules differ (a tampered or buggy proxy),
 * when the named version was never published, or when it had been replaced
 * longer than `staleAfterMs` before the command (a stale proxy).
 *
 * The session's SQL state (prepared statements) advances as the proxy's
 * verdict says — that is what ran on the target — in command order: the
 * proxy records command n+1 only after command n's verdict is acknowledged,
 * and each session's verifications run one after another.
 */
import { newId, nowIso, type CommandRequested, type VerdictDisputed, type VerdictIssued } from '@portcullis/schemas';
import { describeError, type Logger } from '@portcullis/kit';
import { advanceSession, evaluate, type Evaluation } from './evaluate.ts';
import { emptySqlSession, type SqlSessionState } from './analysis/sql.ts';
import type { PolicyState } from './policy/state.ts';
import type { Decision } from './decide.ts';
import { unevaluable } from './verdict-events.ts';

export interface PolicyHistory {
  /** The state of a version this PDP has seen (0: no policy). */
  at(version: number): PolicyState | undefined;
  /** The newest version published at least `graceMs` before `time` (ms). */
  inForceAt(time: number, graceMs: number): number;
  latest(): number;
}

export interface EdgeVerifierDeps {
  verifiedBy: string;
  policies: PolicyHistory;
  sessions: Map<string, SqlSessionState>;
  /** Held edge commands by approvalId: the PDP advances their session when the approval is granted. */
  heldCommands: Map<string, CommandRequested>;
  logger: Logger;
  staleAfterMs: number;
}

const MAX_UNPAIRED = 100_000;

export class EdgeVerifier {
  private readonly commands = new Map<string, CommandRequested>();
  private readonly verdicts = new Map<string, VerdictIssued>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly deps: EdgeVerifierDeps) {}

  onCommand(command: CommandRequested): Promise<VerdictDisputed[]> {
    const verdict = this.verdicts.get(command.commandId);
    if (!verdict) return this.keep(this.commands, command.commandId, command);
    this.verdicts.delete(command.commandId);
    return this.inOrder(command, verdict);
  }

  onVerdict(verdict: VerdictIssued): Promise<VerdictDisputed[]> {
    const command = this.commands.get(verdict.commandId);
    if (!command) return this.keep(this.verdicts, verdict.commandId, verdict);
    this.commands.delete(verdict.commandId);
    return this.inOrder(command, verdict);
  }

  private keep<T>(map: Map<string, T>, id: string, value: T): Promise<VerdictDisputed[]> {
    map.set(id, value);
    if (map.size > MAX_UNPAIRED) {
      const oldest = map.keys().next().value!;
      map.delete(oldest);
      this.deps.logger.warn({ commandId: oldest }, 'edge command or verdict never paired; dropped unverified');
    }
    return Promise.resolve([]);
  }

  private inOrder(command: CommandRequested, verdict: VerdictIssued): Promise<VerdictDisputed[]> {
    const previous = this.queues.get(command.sessionId) ?? Promise.resolve();
    const next = previous.then(() => this.verify(command, verdict));
    const tail = next.catch(() => undefined);
    this.queues.set(command.sessionId, tail);
    void tail.then(() => {
      if (this.queues.get(command.sessionId) === tail) this.queues.delete(command.sessionId);
    });
    return next;
  }

  private async verify(command: CommandRequested, verdict: VerdictIssued): Promise<VerdictDisputed[]> {
    const { policies, sessions } = this.deps;
    const session = sessions.get(command.sessionId) ?? emptySqlSession();
    const named = policies.at(verdict.policyVersion);
    const disputes: VerdictDisputed[] = [];
    let evaluation: Evaluation | undefined;
    if (!named) {
      if (verdict.policyVersion > policies.latest()) {
        disputes.push(this.dispute(command, verdict, undefined, `the verdict names policy version ${verdict.policyVersion}, which was never published (latest: ${policies.latest()})`));
      } else {
        this.deps.logger.warn({ commandId: command.commandId, policyVersion: verdict.policyVersion }, 'edge verdict names a policy version this verifier no longer has; not verified');
      }
      evaluation = await evaluate(command, policies.at(policies.latest()) ?? { version: 0 }, session).catch(() => undefined);
    } else {
      evaluation = await evaluate(command, named, session).catch((err: unknown) => {
        this.deps.logger.error({ commandId: command.commandId, err: describeError(err) }, 'verifier could not evaluate');
        return undefined;
      });
      const expected: Decision = evaluation?.decision ?? unevaluable('the verifier could not evaluate it', verdict.policyVersion);
      if (!sameDecision(expected, verdict)) {
        disputes.push(this.dispute(command, verdict, expected, `under policy version ${verdict.policyVersion} the verifier decides ${expected.effect}${expected.ruleIds.length ? ` (${expected.ruleIds.join(', ')})` : ''}, the proxy issued ${verdict.effect}${verdict.ruleIds.length ? ` (${verdict.ruleIds.join(', ')})` : ''}`));
      }
      const inForce = policies.inForceAt(Date.parse(command.occurredAt), this.deps.staleAfterMs);
      if (inForce > verdict.policyVersion) {
        const current = policies.at(inForce);
        const now = current ? await evaluate(command, current, session).then((e) => e.decision, () => undefined) : undefined;
        disputes.push(this.dispute(command, verdict, now, `stale policy: the verdict names version ${verdict.policyVersion}, but version ${inForce} had been in force for more than ${this.deps.staleAfterMs} ms when the command was recorded`));
      }
    }
    // The session moves as the proxy's verdict says: that is what reached the target.
    if (evaluation && (verdict.effect === 'allow' || verdict.effect === 'mask')) sessions.set(command.sessionId, advanceSession(session, command, evaluation.analysis));
    if (verdict.effect === 'hold' && verdict.approvalId) this.deps.heldCommands.set(verdict.approvalId, command);
    for (const d of disputes) this.deps.logger.warn({ commandId: command.commandId, decidedBy: verdict.decidedBy, reason: d.reason }, 'edge verdict disputed');
    return disputes;
  }

  private dispute(command: CommandRequested, verdict: VerdictIssued, expected: Decision | undefined, reason: string): VerdictDisputed {
    return {
      type: 'VerdictDisputed',
      eventId: newId(),
      occurredAt: nowIso(),
      sessionId: command.sessionId,
      commandId: command.commandId,
      verdictEventId: verdict.eventId,
      decidedBy: verdict.decidedBy ?? 'unknown',
      policyVersion: verdict.policyVersion,
      issued: { effect: verdict.effect, ruleIds: verdict.ruleIds },
      ...(expected ? { expected: { effect: expected.effect, ruleIds: expected.ruleIds, reasons: expected.reasons } } : {}),
      reason,
      verifiedBy: this.deps.verifiedBy,
    };
  }
}

/** Same effect and the same deciding rules (order aside). */
function sameDecision(expected: Decision, verdict: VerdictIssued): boolean {
  if (expected.effect !== verdict.effect) return false;
  const a = [...expected.ruleIds].sort();
  const b = [...verdict.ruleIds].sort();
  return a.length === b.length && a.every((r, i) => r === b[i]);
}
