/**
 * The edge gate: the proxy decides each command itself, with the same pure
 * `evaluate` the PDP runs, on the policy state it follows from the
 * compacted policies topic, and resolves only when the CommandRequested and
 * its VerdictIssued (naming this proxy instance and the policy version) are
 * both in Kafka with acks=all — written together in one produce request,
 * shared with every other session's commands of the same event-loop turn
 * (group commit). No consumer round trip on the hot path.
 *
 * A hold is issued here too (the hold verdict and the ApprovalRequested);
 * its final verdict comes, as ever, from the PDP, which alone turns an
 * approval outcome into a final verdict. The PDP also re-decides every edge
 * verdict and disputes the ones it disagrees with (service.ts).
 *
 * Fails closed: a policy state older than the staleness bound, an encode or
 * produce error, a produce that does not finish within the timeout — each
 * rejects, and the proxy refuses the command with that reason.
 */
import { newId, type CommandRequested, type VerdictIssued } from '@portcullis/schemas';
import {
  createRequestReply,
  describeError,
  followTopic,
  PortcullisError,
  withDeadline,
  type Bus,
  type ClosableCommandGate,
  type Follower,
  type Logger,
  type PendingEvent,
  type RequestReply,
} from '@portcullis/kit';
import { evaluate, advanceSession, type Evaluation } from '../evaluate.ts';
import { emptySqlSession, loadSqlParser, type SqlSessionState } from '../analysis/sql.ts';
import { evolvePolicyState, initialPolicyState, withKnownResources, type PolicyState } from '../policy/state.ts';
import type { Decision } from '../decide.ts';
import { approvalRequestOf, unevaluable, verdictOf } from '../verdict-events.ts';

export interface EdgeGateOptions {
  bus: Bus;
  logger: Logger;
  /** This proxy instance; verdicts say `decidedBy: edge:<instance>`. */
  instance: string;
  /** How long the command + verdict may take to be acknowledged by Kafka before the command is refused. */
  timeoutMs?: number;
  /** The policy state may go this long without a fetch from the policies topic answering; then commands are refused. */
  stalenessMs?: number;
  /** Resource names the gateway serves; commands for others are blocked. */
  knownResources?: string[];
  /** Decide with this state instead of following the policies topic. Tests use it to run a doctored proxy. */
  policyOverride?: PolicyState;
}

export interface EdgeGate extends ClosableCommandGate {
  policyState(): PolicyState;
}

type VerdictReplies = RequestReply<CommandRequested, VerdictIssued>;

export async function createEdgeGate(options: EdgeGateOptions): Promise<EdgeGate> {
  const { bus, logger, instance, timeoutMs = 5000, stalenessMs = 10_000 } = options;
  const decidedBy = `edge:${instance}`;
  await bus.connect();
  await loadSqlParser();
  let policy: PolicyState = withKnownResources(options.policyOverride ?? initialPolicyState, options.knownResources);
  let follower: Follower | undefined;
  if (!options.policyOverride) {
    follower = await followTopic(bus, 'policies', (event) => {
      const next = evolvePolicyState(policy, event);
      if (next.rejected && next.rejected !== policy.rejected) {
        logger.warn({ policySetId: event.policySetId, version: event.version, errors: next.rejected.errors.slice(0, 5) }, 'policy publication refused; the running version stays');
      } else if (next.version !== policy.version) {
        logger.info({ policySetId: event.policySetId, version: next.version }, 'policy version in force at the edge');
      }
      policy = next;
    }, { name: `edge-policies-${instance}` });
    await follower.caughtUp;
  }
  logger.info({ version: policy.version, decidedBy }, 'edge gate deciding');

  const sessions = new Map<string, SqlSessionState>();
  /** Held commands by commandId: what runs when the approval is granted (its PREPARE takes effect). */
  const held = new Map<string, Evaluation & { command: CommandRequested }>();
  /** Sessions with a held command: only their verdicts are decoded by the final-verdict listener. */
  const watched = new Map<string, number>();
  let replies: Promise<VerdictReplies> | undefined;

  /**
   * Final verdicts arrive on the verdicts topic, which carries every command's verdict; the listener
   * starts at the first hold (the start offsets are noted before that hold is published, so no final
   * verdict can slip past) and decodes only the records of sessions that wait.
   */
  async function prepareFinalVerdicts(): Promise<void> {
    if (replies) return;
    const startOffsets = await (await bus.admin()).fetchTopicOffsets(bus.names.of('verdicts'));
    replies ??= createRequestReply({
      bus,
      requestTopic: 'commands',
      replyTopic: 'verdicts',
      requestId: (e) => e.commandId,
      replyId: (e) => (e.type === 'VerdictIssued' ? e.commandId : `${e.type}:${e.commandId}`),
      instanceId: `${instance}-${newId()}`,
      startOffsets,
      acceptKey: (key) => watched.has(key),
    }) as unknown as Promise<VerdictReplies>;
    replies.catch((err: unknown) => logger.error({ err: describeError(err) }, 'final-verdict listener failed to start'));
  }

  function stale(): string | undefined {
    if (!follower) return undefined;
    const age = Date.now() - follower.lastFetchAt();
    if (age <= stalenessMs) return undefined;
    return `the policy in force (version ${policy.version}) could not be refreshed from ${bus.names.of('policies')} for ${(age / 1000).toFixed(1)} s (bound ${stalenessMs / 1000} s), so commands are refused until it can be read`;
  }

  const gate: EdgeGate = {
    policyState: () => policy,
    currentPolicyVersion: () => policy.version,
    unavailable: stale,

    async judge(command, opts = {}) {
      const why = stale();
      if (why) throw new PortcullisError('PCL_ERR_POLICY_STALE', why);
      const session = sessions.get(command.sessionId) ?? emptySqlSession();
      let evaluation: Evaluation | undefined;
      let decision: Decision;
      try {
        evaluation = await evaluate(command, policy, session);
        decision = evaluation.decision;
      } catch (err) {
        decision = unevaluable(describeError(err), policy.version);
      }
      const approvalId = decision.effect === 'hold' ? newId() : undefined;
      const request = approvalId ? approvalRequestOf(command, decision, approvalId) : undefined;
      if (approvalId && !request) decision = unevaluable('a hold without an approval requirement', policy.version);
      const verdict = verdictOf(command.sessionId, command.commandId, decision, { ...(request ? { approvalId } : {}), decidedBy });
      const events: PendingEvent[] = [
        { key: 'commands', event: command },
        { key: 'verdicts', event: verdict },
      ];
      if (request) {
        await prepareFinalVerdicts();
        watched.set(command.sessionId, (watched.get(command.sessionId) ?? 0) + 1);
        held.set(command.commandId, { ...evaluation!, command });
        events.push({ key: 'approvals', event: request });
      }
      if (opts.signal?.aborted) throw new PortcullisError('PCL_ERR_CANCELLED', 'cancelled before the command was recorded');
      const limit = opts.timeoutMs ?? timeoutMs;
      try {
        await withDeadline(bus.publishAll(events), limit, `Kafka did not acknowledge the command and its verdict within ${limit} ms`);
      } catch (err) {
        if (request) unwatch(command.sessionId, command.commandId);
        throw new PortcullisError('PCL_ERR_PUBLISH_FAILED', `the command could not be recorded, so it was not run: ${describeError(err)}`, { cause: err });
      }
      if (evaluation && (decision.effect === 'allow' || decision.effect === 'mask')) sessions.set(command.sessionId, evaluation.session);
      return verdict;
    },

    async awaitFinal(commandId, opts) {
      const entry = held.get(commandId);
      if (!replies || !entry) throw new PortcullisError('PCL_ERR_NOT_FOUND', `command ${commandId} is not held by this proxy`);
      const rr = await withDeadline(replies, opts.timeoutMs, 'the final-verdict listener did not start');
      const final = (await rr.awaitReply(commandId, { ...opts, accept: (v) => v.type === 'VerdictIssued' && v.final })) as VerdictIssued;
      // Only a final verdict ends the watch: a wait that times out or is aborted may be followed by another.
      if (held.get(commandId) === entry) {
        unwatch(entry.command.sessionId, commandId);
        if (final.effect === 'allow' || final.effect === 'mask') {
          // The approved command runs now: its PREPARE / named Parse takes effect in the session.
          const current = sessions.get(entry.command.sessionId) ?? emptySqlSession();
          sessions.set(entry.command.sessionId, advanceSession(current, entry.command, entry.analysis));
        }
      }
      return final;
    },

    async cancelHold({ approvalId, sessionId, reason }) {
      await bus.publishAll([{ key: 'approvals', event: { type: 'ApprovalCancelled', eventId: newId(), occurredAt: new Date().toISOString(), sessionId, approvalId, reason } }]);
    },

    forgetSession(sessionId) {
      sessions.delete(sessionId);
    },

    async close() {
      await follower?.stop();
      const rr = await replies?.catch(() => undefined);
      await rr?.close();
    },
  };

  function unwatch(sessionId: string, commandId: string): void {
    held.delete(commandId);
    const n = (watched.get(sessionId) ?? 1) - 1;
    if (n <= 0) watched.delete(sessionId);
    else watched.set(sessionId, n);
  }

  return gate;
}
