/**
 * The PDP's Kafka loop: consume → decide → produce, inside one Kafka
 * transaction per batch (verdicts, approval requests and the consumer
 * offsets commit together), so after a crash at any point every command has
 * exactly one verdict visible to read_committed consumers.
 *
 *   portcullis.policies  ──follow──► policy state (evolvePolicyState)
 *   portcullis.approvals ──follow──► held commands (ApprovalRequested)
 *   portcullis.commands  ──group───► evaluate ──► VerdictIssued (+ ApprovalRequested for hold)
 *   portcullis.approvals ──group───► Granted / Denied / Expired / Cancelled ──► final VerdictIssued
 *
 * Commands marked `decision: edge` were decided by their proxy, which wrote
 * the VerdictIssued itself: the PDP does not decide them again for the proxy
 * but verifies them (verifier.ts) and publishes a VerdictDisputed when it
 * disagrees. Approval outcomes become final verdicts here whoever held the
 * command — exactly one place does that.
 */
import type { KafkaMessage, Message, Producer } from 'kafkajs';
import {
  decidesApproval,
  foldApprovalOutcome,
  newId,
  type ApprovalOutcome,
  type ApprovalRequested,
  type ApprovalsTopicEvent,
  type CommandRequested,
  type TopicKey,
  type VerdictsTopicEvent,
  topics,
} from '@portcullis/schemas';
import { deadLetterRecord, describeError, followTopic, gatewayMetrics, type Bus, type Follower, type Logger, type ReadinessCheck } from '@portcullis/kit';
import { evaluate, advanceSession } from './evaluate.ts';
import { emptySqlSession, type SqlSessionState } from './analysis/sql.ts';
import { evolvePolicyState, initialPolicyState, withKnownResources, type PolicyState } from './policy/state.ts';
import type { Decision } from './decide.ts';
import { createTransactionCommitter } from './transaction-committer.ts';
import { approvalRequestOf, unevaluable, verdictOf as verdictEventOf } from './verdict-events.ts';
import { EdgeVerifier, type PolicyHistory } from './verifier.ts';

export const PDP_GROUP = 'portcullis-pdp';
/** Readiness: the PDP's policy and approvals state must have heard from the broker this recently. */
const POLICY_STALENESS_MS = 10_000;

export interface PolicyDecisionService {
  state(): PolicyState;
  /** Readiness beyond the bus: the policy state is current and the decision consumer runs. */
  checks(): ReadinessCheck[];
  stop(): Promise<void>;
}

export interface PolicyDecisionOptions {
  bus: Bus;
  logger: Logger;
  /** Stable per PDP instance: a restarted instance fences its zombie by reusing it. */
  transactionalId?: string;
  /** Resource names the gateway serves; commands for others are blocked. */
  knownResources?: string[];
  /** An edge verdict naming a version replaced longer than this before its command is disputed as stale. */
  staleAfterMs?: number;
}

interface Held {
  request: ApprovalRequested;
  sessionId: string;
}

/** What goes out in the transaction for one input message. */
interface Output {
  key: TopicKey | 'dead-letter';
  event?: unknown;
  raw?: Message;
}

export async function startPolicyDecisionService({ bus, logger, transactionalId = 'portcullis-pdp-0', knownResources, staleAfterMs = 5000 }: PolicyDecisionOptions): Promise<PolicyDecisionService> {
  await bus.connect();
  const decidedBy = `pdp:${transactionalId}`;
  const verdictOf = (sessionId: string, commandId: string, decision: Decision, approvalId?: string): VerdictsTopicEvent =>
    verdictEventOf(sessionId, commandId, decision, { ...(approvalId ? { approvalId } : {}), decidedBy });
  let policy: PolicyState = withKnownResources(initialPolicyState, knownResources);
  // Every version seen since start, for verifying edge verdicts under the version they name.
  const versions = new Map<number, { state: PolicyState; publishedAt: number }>([[0, { state: policy, publishedAt: 0 }]]);
  const history: PolicyHistory = {
    at: (version) => versions.get(version)?.state,
    latest: () => policy.version,
    inForceAt(time, graceMs) {
      let best = 0;
      for (const [version, v] of versions) if (v.publishedAt + graceMs <= time && version > best) best = version;
      return best;
    },
  };
  const sessions = new Map<string, SqlSessionState>();
  const held = new Map<string, Held>();
  const heldCommands = new Map<string, CommandRequested>();

  const policyFollower: Follower = await followTopic(bus, 'policies', (event) => {
    const next = evolvePolicyState(policy, event);
    if (next.rejected && next.rejected !== policy.rejected) {
      logger.warn({ policySetId: event.policySetId, version: event.version, errors: next.rejected.errors.slice(0, 5) }, 'policy publication refused; the running version stays');
    } else if (next.version !== policy.version) {
      logger.info({ policySetId: event.policySetId, version: next.version }, 'policy version in force');
      versions.set(next.version, { state: next, publishedAt: Date.parse(event.occurredAt) });
    }
    policy = next;
  }, { name: 'pdp-policies' });
  // The first outcome of an approval in the log decides it (foldApprovalOutcome, the rule the approvals
  // service and the audit share); any later one (two expirers, a cancel after a grant) is ignored.
  // `outcomes` comes from the log (approvals are keyed by id, so one partition holds all of an approval's
  // events in order); `closed` from this run's own final verdicts.
  const outcomes = new Map<string, ApprovalOutcome>();
  const closed = new Set<string>();
  const approvalsFollower: Follower = await followTopic(bus, 'approvals', (event, { offset }) => {
    if (event.type === 'ApprovalRequested') held.set(event.approvalId, { request: event, sessionId: event.sessionId });
    const outcome = foldApprovalOutcome(outcomes.get(event.approvalId), event, offset);
    if (outcome) outcomes.set(event.approvalId, outcome);
  }, { name: 'pdp-approvals' });
  await Promise.all([policyFollower.caughtUp, approvalsFollower.caughtUp]);
  logger.info({ version: policy.version }, 'policy state loaded');

  // A transaction right after another on the same partitions meets CONCURRENT_TRANSACTIONS while the
  // previous markers are written; kafkajs's default 100 ms first retry turned that into 100+ ms verdicts.
  const producer: Producer = bus.kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { initialRetryTime: 5, maxRetryTime: 200, retries: 20 },
  });
  await producer.connect();
  const groupId = bus.names.group(PDP_GROUP);
  const consumer = bus.kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [bus.names.of('commands'), bus.names.of('approvals'), bus.names.of('verdicts')], fromBeginning: true });
  const verifier = new EdgeVerifier({ verifiedBy: decidedBy, policies: history, sessions, heldCommands, logger, staleAfterMs });

  async function onCommand(command: CommandRequested): Promise<Output[]> {
    if (command.decision === 'edge') {
      return (await verifier.onCommand(command)).map((event) => ({ key: 'verdicts', event }));
    }
    const session = sessions.get(command.sessionId) ?? emptySqlSession();
    let decision: Decision;
    let nextSession = session;
    try {
      const evaluation = await evaluate(command, policy, session);
      decision = evaluation.decision;
      nextSession = evaluation.session;
    } catch (err) {
      // Fail closed: whatever went wrong, the command gets a block verdict, never silence.
      decision = unevaluable(describeError(err), policy.version);
    }
    sessions.set(command.sessionId, nextSession);
    const approvalId = decision.effect === 'hold' ? newId() : undefined;
    const verdict = verdictOf(command.sessionId, command.commandId, decision, approvalId);
    const outputs: Output[] = [{ key: 'verdicts', event: verdict }];
    const request = approvalId ? approvalRequestOf(command, decision, approvalId) : undefined;
    if (approvalId && request) {
      held.set(approvalId, { request, sessionId: command.sessionId });
      heldCommands.set(approvalId, command);
      outputs.push({ key: 'approvals', event: request });
    }
    return outputs;
  }

  function onApproval(event: ApprovalsTopicEvent, offset: string): Output[] {
    if (event.type === 'ApprovalRequested') {
      held.set(event.approvalId, { request: event, sessionId: event.sessionId });
      return [];
    }
    if (event.type === 'ApprovalVoteRecorded') return [];
    if (closed.has(event.approvalId) || !decidesApproval(outcomes.get(event.approvalId), event, offset)) {
      logger.info({ approvalId: event.approvalId, type: event.type }, 'approval already decided; later outcome ignored');
      return [];
    }
    const entry = held.get(event.approvalId);
    if (!entry) {
      logger.warn({ approvalId: event.approvalId, type: event.type }, 'approval outcome for an unknown approval');
      return [];
    }
    held.delete(event.approvalId);
    closed.add(event.approvalId);
    const { request } = entry;
    const command = heldCommands.get(event.approvalId);
    heldCommands.delete(event.approvalId);
    let decision: Decision;
    switch (event.type) {
      case 'ApprovalGranted': {
        const grant = request.onGrant ?? { effect: 'allow' as const, ruleIds: [request.ruleId] };
        decision = {
          effect: grant.effect,
          ruleIds: grant.ruleIds.length ? grant.ruleIds : [request.ruleId],
          reasons: [`approved by ${event.approvers.join(', ')}${event.comment ? `: ${event.comment}` : ''}`],
          ...(grant.mask ? { mask: grant.mask } : {}),
          classes: [],
          policyVersion: request.policyVersion,
        };
        // The approved command now runs: its PREPARE/DEALLOCATE take effect.
        if (command) void advanceAfterApproval(command);
        break;
      }
      case 'ApprovalDenied':
        decision = { effect: 'block', ruleIds: [request.ruleId], reasons: [`denied by ${event.approver}${event.comment ? `: ${event.comment}` : ''}`], classes: [], policyVersion: request.policyVersion };
        break;
      case 'ApprovalExpired':
        decision = { effect: 'block', ruleIds: [request.ruleId], reasons: ['expired: no decision before the approval expired'], classes: [], policyVersion: request.policyVersion };
        break;
      case 'ApprovalCancelled':
        decision = { effect: 'block', ruleIds: [request.ruleId], reasons: [`cancelled: ${event.reason}`], classes: [], policyVersion: request.policyVersion };
        break;
      default: {
        const never: never = event;
        throw new Error(`unhandled approval event ${(never as { type: string }).type}`);
      }
    }
    return [{ key: 'verdicts', event: verdictOf(entry.sessionId, request.commandId, decision, request.approvalId) }];
  }

  async function advanceAfterApproval(command: CommandRequested): Promise<void> {
    const { analysis } = await evaluate(command, policy, sessions.get(command.sessionId) ?? emptySqlSession()).catch(() => ({ analysis: undefined }));
    if (analysis) sessions.set(command.sessionId, advanceSession(sessions.get(command.sessionId) ?? emptySqlSession(), command, analysis));
  }

  async function process(topic: string, partition: number, message: KafkaMessage): Promise<Output[]> {
    const key = bus.names.keyOf(topic);
    if (key === 'commands') {
      try {
        return await onCommand(await bus.codec.decode('commands', message.value));
      } catch (err) {
        return refuseUndecodable(partition, message, describeError(err));
      }
    }
    if (key === 'verdicts') {
      // Only verdicts a proxy issued at the edge are this consumer's business; a bad record there is not.
      let event: VerdictsTopicEvent;
      try {
        event = await bus.codec.decode('verdicts', message.value);
      } catch (err) {
        return [deadLetter(topic, partition, message, describeError(err))];
      }
      if (event.type !== 'VerdictIssued' || !event.decidedBy?.startsWith('edge:')) return [];
      return (await verifier.onVerdict(event)).map((dispute) => ({ key: 'verdicts', event: dispute }));
    }
    if (key === 'approvals') {
      try {
        return onApproval(await bus.codec.decode('approvals', message.value), message.offset);
      } catch (err) {
        return [deadLetter(topic, partition, message, describeError(err))];
      }
    }
    return [deadLetter(topic, partition, message, `unexpected topic ${topic}`)];
  }

  /** A command that fails validation still gets a block verdict when its ids can be read; otherwise it is dead-lettered. */
  function refuseUndecodable(partition: number, message: KafkaMessage, reason: string): Output[] {
    const ids = readIds(message.value);
    const out: Output[] = [deadLetter(bus.names.of('commands'), partition, message, reason)];
    if (ids) {
      out.push({
        key: 'verdicts',
        event: verdictOf(ids.sessionId, ids.commandId, { effect: 'block', ruleIds: [], reasons: [`invalid command: ${reason}`], classes: [], policyVersion: policy.version }),
      });
    }
    return out;
  }

  function deadLetter(topic: string, partition: number, message: KafkaMessage, reason: string): Output {
    logger.warn({ topic, offset: message.offset, reason }, 'message sent to the dead-letter topic');
    return { key: 'dead-letter', raw: deadLetterRecord({ topic, partition, group: groupId }, message, reason) };
  }

  const commitInTransaction = createTransactionCommitter(producer, groupId);
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: 3,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, heartbeat, isRunning, isStale, resolveOffset }) => {
      if (batch.messages.length === 0 || !isRunning() || isStale()) return;
      const outputs: Output[] = [];
      for (const message of batch.messages) outputs.push(...(await process(batch.topic, batch.partition, message)));
      const messages = new Map<string, Message[]>();
      for (const out of outputs) {
        const topicName = out.key === 'dead-letter' ? bus.names.deadLetter : bus.names.of(out.key);
        const list = messages.get(topicName) ?? [];
        if (out.raw) list.push(out.raw);
        else {
          const contractKey = out.key as TopicKey;
          list.push({
            key: topics[contractKey].keyOf(out.event as never),
            value: await bus.codec.encode(contractKey, out.event),
            headers: { 'portcullis-type': (out.event as { type: string }).type },
          });
        }
        messages.set(topicName, list);
      }
      const last = batch.messages[batch.messages.length - 1]!;
      await commitInTransaction({ messages, offset: { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() } });
      // The group offset went out with the transaction; this moves kafkajs's own position past the batch.
      resolveOffset(last.offset);
      await heartbeat();
    },
  });
  logger.info({ groupId, transactionalId }, 'policy decision service running');
  let crashed: string | undefined;
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) crashed = payload.error.message;
  });
  const lag = gatewayMetrics().consumerLag;
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const key = bus.names.keyOf(payload.topic);
    lag.set({ consumer: PDP_GROUP, topic: key ? topics[key].name : payload.topic, partition: String(payload.partition) }, Number(payload.offsetLag));
  });

  return {
    state: () => policy,
    checks: () => [
      {
        name: 'policy-state',
        check() {
          const age = Date.now() - Math.min(policyFollower.lastFetchAt(), approvalsFollower.lastFetchAt());
          if (age > POLICY_STALENESS_MS) throw new Error(`the policies and approvals topics were not read for ${(age / 1000).toFixed(1)} s`);
        },
      },
      {
        name: 'decision-consumer',
        check() {
          if (crashed) throw new Error(`the ${PDP_GROUP} consumer stopped: ${crashed}`);
        },
      },
    ],
    async stop() {
      await consumer.disconnect().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await policyFollower.stop();
      await approvalsFollower.stop();
    },
  };
}

/** Reads sessionId and commandId out of a wire-format value whose payload failed validation. */
function readIds(value: Buffer | null): { sessionId: string; commandId: string } | undefined {
  if (!value || value.length < 6 || value[0] !== 0) return undefined;
  try {
    const payload = JSON.parse(value.subarray(5).toString('utf8')) as Record<string, unknown>;
    const { sessionId, commandId } = payload;
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    if (typeof sessionId === 'string' && sessionId.length > 0 && sessionId.length <= 200 && typeof commandId === 'string' && uuid.test(commandId)) {
      return { sessionId, commandId };
    }
  } catch {
    /* not JSON: dead-lettered only */
  }
  return undefined;
}
