/**
 * The approvals workflow around the decider: an in-memory projection of
 * portcullis.approvals (every instance follows the whole topic from offset
 * 0), writes by decide → publish (acks=all) → evolve, and one expiry timer
 * per pending approval.
 *
 * Timers are armed only once the projection has caught up with the log, so
 * an approval that was closed later in the log is never expired while the
 * log is replayed; anything found past its expiresAt then expires at once.
 */
import { newId, nowIso, type ApprovalsTopicEvent } from '@portcullis/schemas';
import { describeError, followTopic, type Bus, type Follower, type Logger } from '@portcullis/kit';
import { decide, evolve, initialState, isDue, stampEvents, type ApprovalCommand, type ApprovalState, type ApprovalStatus, type KnownApproval } from './decider.ts';

export interface ApprovalWorkflow {
  get(approvalId: string): ApprovalState;
  list(filter?: { status?: ApprovalStatus }): KnownApproval[];
  /** Decides, publishes what was decided (durably), applies it, and returns the new state. */
  execute(approvalId: string, command: DistributiveOmit<ApprovalCommand, 'now'>): Promise<ApprovalState>;
  /** Calls listener with each approval whose state changes once the projection is live; returns the unsubscribe. */
  onChange(listener: (state: KnownApproval) => void): () => void;
  /** Resolves once the projection holds every event that was in the log at start. */
  caughtUp: Promise<void>;
  stop(): Promise<void>;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** setTimeout's ceiling; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export async function startApprovalWorkflow({ bus, logger, clock = nowIso, name = 'approvals' }: { bus: Bus; logger: Logger; clock?: () => string; name?: string }): Promise<ApprovalWorkflow> {
  const states = new Map<string, KnownApproval>();
  const timers = new Map<string, NodeJS.Timeout>();
  const locks = new Map<string, Promise<unknown>>();
  const listeners = new Set<(state: KnownApproval) => void>();
  let live = false;
  let stopped = false;

  const get = (approvalId: string): ApprovalState => states.get(approvalId) ?? initialState;

  function apply(event: ApprovalsTopicEvent): void {
    const next = evolve(get(event.approvalId), event);
    if (next.status === 'unknown') return;
    states.set(event.approvalId, next);
    if (!live) return;
    react(next);
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (err) {
        logger.warn({ approvalId: event.approvalId, err: describeError(err) }, 'approval change listener failed');
      }
    }
  }

  /** After each change: arm or clear the expiry timer, and grant votes that reached the quorum. */
  function react(state: KnownApproval): void {
    const id = state.request.approvalId;
    if (state.status !== 'pending') {
      clearTimeout(timers.get(id));
      timers.delete(id);
      return;
    }
    if (!timers.has(id)) arm(state);
    if (new Set(state.votes.map((v) => `${v.approver.issuer} ${v.approver.subject}`)).size >= state.request.quorum) {
      void execute(id, { type: 'Tally' }).catch((err) => logger.warn({ approvalId: id, err: describeError(err) }, 'tallying votes failed'));
    }
  }

  function arm(state: KnownApproval): void {
    const id = state.request.approvalId;
    const wait = Math.max(0, Date.parse(state.request.expiresAt) - Date.parse(clock()));
    const timer = setTimeout(() => {
      timers.delete(id);
      if (stopped) return;
      const current = get(id);
      if (current.status !== 'pending') return;
      if (!isDue(current, clock())) return arm(current);
      execute(id, { type: 'Expire' }).catch((err) => {
        logger.warn({ approvalId: id, err: describeError(err) }, 'recording an expiry failed; retrying');
        if (!stopped && !timers.has(id)) timers.set(id, setTimeout(() => arm(current), 1000).unref());
      });
    }, Math.min(wait, MAX_TIMER_MS));
    timer.unref();
    timers.set(id, timer);
  }

  /** One decision at a time per approval in this process, so a double click cannot race itself. */
  function execute(approvalId: string, command: DistributiveOmit<ApprovalCommand, 'now'>): Promise<ApprovalState> {
    const previous = locks.get(approvalId) ?? Promise.resolve();
    const run = previous.catch(() => undefined).then(async () => {
      const now = clock();
      const events = stampEvents(decide({ ...command, now } as ApprovalCommand, get(approvalId)), now, newId);
      for (const event of events) {
        await bus.publish('approvals', event);
        apply(event);
      }
      if (events.length > 0) logger.info({ approvalId, types: events.map((e) => e.type) }, 'approval decision recorded');
      return get(approvalId);
    });
    locks.set(approvalId, run);
    void run.finally(() => {
      if (locks.get(approvalId) === run) locks.delete(approvalId);
    }).catch(() => undefined);
    return run;
  }

  const follower: Follower = await followTopic(bus, 'approvals', apply, { name: `${name}-projection` });
  const caughtUp = follower.caughtUp.then(() => {
    live = true;
    for (const state of states.values()) react(state);
    logger.info({ approvals: states.size, pending: [...states.values()].filter((s) => s.status === 'pending').length }, 'approvals projection caught up');
  });

  return {
    get,
    list: ({ status } = {}) =>
      [...states.values()].filter((s) => !status || s.status === status).sort((a, b) => a.request.occurredAt.localeCompare(b.request.occurredAt)),
    execute,
    onChange(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    caughtUp,
    async stop() {
      stopped = true;
      for (const t of timers.values()) clearTimeout(t);
      timers.clear();
      await follower.stop();
    },
  };
}
