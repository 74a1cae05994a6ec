/**
 * How a proxy connects to policy decisions, by its `decision` setting:
 *   edge   (default) — createEdgeGate: decide in the proxy, record command + verdict before running it;
 *   remote           — kit's createCommandGate: publish the command, the PDP decides, await its verdict
 *                      (for deployments that must not hand policies to proxies).
 * Returns the gate and the session-event sink that goes with it (the sink
 * marks commands `decision: edge` and lets the gate forget ended sessions).
 */
import { hostname } from 'node:os';
import { newId, nowIso } from '@portcullis/schemas';
import { createCommandGate, followTopic, type Bus, type ClosableCommandGate, type Logger, type SessionEventSink } from '@portcullis/kit';
import { createEdgeGate } from './edge-gate.ts';

export type DecisionMode = 'edge' | 'remote';

export interface GateConnection {
  gate: ClosableCommandGate;
  sink: SessionEventSink;
  /** Who decides: `edge:<instance>` or `remote`. */
  decidedBy: string;
}

export async function connectCommandGate(options: {
  bus: Bus;
  logger: Logger;
  decision: DecisionMode;
  /** The proxy kind (proxy-postgres, proxy-ssh, proxy-http); with host and pid it names this instance. */
  service: string;
  verdictTimeoutMs: number;
  policyStalenessMs: number;
  knownResources?: string[];
}): Promise<GateConnection> {
  const { bus, logger } = options;
  await bus.connect();
  if (options.decision === 'edge') {
    const instance = `${options.service}@${hostname()}:${process.pid}:${newId().slice(-8)}`;
    const gate = await createEdgeGate({
      bus,
      logger,
      instance,
      timeoutMs: options.verdictTimeoutMs,
      stalenessMs: options.policyStalenessMs,
      ...(options.knownResources ? { knownResources: options.knownResources } : {}),
    });
    return {
      gate,
      decidedBy: `edge:${instance}`,
      sink: {
        decision: 'edge',
        publish: (event) => {
          if (event.type === 'SessionClosed') gate.forgetSession?.(event.sessionId);
          return bus.publish('sessionEvents', event);
        },
      },
    };
  }
  const remote = await createCommandGate({ bus, timeoutMs: options.verdictTimeoutMs });
  // Knowing the policy version in force lets the PostgreSQL engine re-judge prepared statements after a change.
  let policyVersion: number | undefined;
  const policies = await followTopic(bus, 'policies', (e) => {
    policyVersion = Math.max(policyVersion ?? 0, e.version);
  }, { name: `${options.service}-policies` });
  await policies.caughtUp;
  return {
    decidedBy: 'remote',
    sink: { decision: 'remote', publish: (event) => bus.publish('sessionEvents', event) },
    gate: {
      judge: remote.judge,
      awaitFinal: remote.awaitFinal,
      currentPolicyVersion: () => policyVersion,
      // The PDP decides; this follower only tells prepared statements the version. Stale means Kafka is unreachable.
      unavailable: () => {
        const age = Date.now() - policies.lastFetchAt();
        return age > options.policyStalenessMs ? `the policies topic could not be read for ${(age / 1000).toFixed(1)} s` : undefined;
      },
      cancelHold: ({ approvalId, sessionId, reason }) => bus.publish('approvals', { type: 'ApprovalCancelled', eventId: newId(), occurredAt: nowIso(), sessionId, approvalId, reason }),
      async close() {
        await remote.close();
        await policies.stop();
      },
    },
  };
}
