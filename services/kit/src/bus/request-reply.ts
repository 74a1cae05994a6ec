import { newId, type EventOf, type TopicKey, type VerdictIssued } from '@portcullis/schemas';
import { PortcullisError } from '../errors.ts';
import type { Bus } from './bus.ts';
import type { Subscription } from './subscriber.ts';
import type { ClosableCommandGate } from '../gateway/ports.ts';

export interface RequestReply<Req, Rep> {
  /** Publishes the request durably and resolves with the first matching reply. */
  request(event: Req, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<Rep>;
  /** Waits for a reply with this id that satisfies `accept` (e.g. a final verdict). */
  awaitReply(id: string, options: { timeoutMs: number; signal?: AbortSignal; accept?: (reply: Rep) => boolean }): Promise<Rep>;
  close(): Promise<void>;
}

interface Waiter<Rep> {
  accept: (reply: Rep) => boolean;
  resolve: (reply: Rep) => void;
}

/**
 * "Publish a command, await the event with the same id" over Kafka.
 *
 * The waiting side has its own consumer group on the reply topic and has
 * joined it before the first request is published. To close the gap between
 * joining and the group's first fetch (where a fresh group would reset to the
 * latest offset and could skip a reply), it notes the reply topic's end
 * offsets before joining and seeks back to them once assigned.
 *
 * Replies that arrive before anyone waits for them (a final verdict right
 * after a hold) are kept for a while in a bounded map.
 */
export async function createRequestReply<QK extends TopicKey, PK extends TopicKey>(options: {
  bus: Bus;
  requestTopic: QK;
  replyTopic: PK;
  requestId: (event: EventOf<QK>) => string;
  replyId: (event: EventOf<PK>) => string;
  /** Unique per process: every instance must see every reply. */
  instanceId?: string;
  defaultTimeoutMs?: number;
  keepRepliesMs?: number;
  /** Replies are only decoded when their record key passes (default: all). */
  acceptKey?: (key: string) => boolean;
  /** Where to start reading replies (end offsets noted earlier by the caller); default: the end offsets now. */
  startOffsets?: { partition: number; offset: string }[];
}): Promise<RequestReply<EventOf<QK>, EventOf<PK>>> {
  const { bus, requestTopic, replyTopic, requestId, replyId, defaultTimeoutMs = 5000, keepRepliesMs = 10 * 60_000 } = options;
  await bus.connect();
  const waiters = new Map<string, Set<Waiter<EventOf<PK>>>>();
  const recent = new Map<string, { replies: EventOf<PK>[]; at: number }>();
  const replyTopicName = bus.names.of(replyTopic);

  function remember(id: string, reply: EventOf<PK>): void {
    const entry = recent.get(id) ?? { replies: [], at: Date.now() };
    entry.replies.push(reply);
    recent.set(id, entry);
    if (recent.size > 50_000) {
      const cutoff = Date.now() - keepRepliesMs;
      for (const [k, v] of recent) if (v.at < cutoff || recent.size > 40_000) recent.delete(k);
    }
  }

  const endOffsets = options.startOffsets ?? (await (await bus.admin()).fetchTopicOffsets(replyTopicName));
  const acceptKey = options.acceptKey;
  const subscription: Subscription = await bus.subscribe({
    groupId: `portcullis-reply-${replyTopic}-${options.instanceId ?? newId()}`,
    name: `reply-${replyTopic}`,
    topics: [replyTopic],
    attempts: 1,
    maxWaitTimeInMs: 100,
    ...(acceptKey ? { accept: (m) => m.key !== null && acceptKey(m.key.toString()) } : {}),
    handler: async ({ event }) => {
      const id = replyId(event as EventOf<PK>);
      remember(id, event as EventOf<PK>);
      const set = waiters.get(id);
      if (!set) return;
      for (const w of set) if (w.accept(event as EventOf<PK>)) w.resolve(event as EventOf<PK>);
    },
  });
  await subscription.ready;
  for (const { partition, offset } of endOffsets) subscription.consumer.seek({ topic: replyTopicName, partition, offset });

  function awaitReply(id: string, opts: { timeoutMs: number; signal?: AbortSignal; accept?: (reply: EventOf<PK>) => boolean }): Promise<EventOf<PK>> {
    const accept = opts.accept ?? (() => true);
    const already = recent.get(id)?.replies.find(accept);
    if (already) return Promise.resolve(already);
    return new Promise((resolve, reject) => {
      const set = waiters.get(id) ?? new Set();
      waiters.set(id, set);
      const cleanup = (): void => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        set.delete(waiter);
        if (set.size === 0) waiters.delete(id);
      };
      const waiter: Waiter<EventOf<PK>> = {
        accept,
        resolve: (reply) => {
          cleanup();
          resolve(reply);
        },
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new PortcullisError('PCL_ERR_VERDICT_TIMEOUT', `no reply for ${id} on ${replyTopicName} within ${opts.timeoutMs} ms`));
      }, opts.timeoutMs);
      const onAbort = (): void => {
        cleanup();
        reject(new PortcullisError('PCL_ERR_INTERNAL', `waiting for ${id} was cancelled`, { retriable: false }));
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      set.add(waiter);
    });
  }

  return {
    async request(event, opts = {}) {
      const id = requestId(event);
      // Register first: the reply can only be missed if we start listening after publishing.
      const reply = awaitReply(id, { timeoutMs: opts.timeoutMs ?? defaultTimeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
      try {
        await bus.publish(requestTopic, event);
      } catch (err) {
        reply.catch(() => undefined);
        throw err;
      }
      return reply;
    },
    awaitReply,
    close: () => subscription.stop(),
  };
}

/** The remote gate: publish a CommandRequested, await the PDP's VerdictIssued over Kafka. */
export async function createCommandGate({ bus, timeoutMs = 5000, instanceId }: { bus: Bus; timeoutMs?: number; instanceId?: string }): Promise<ClosableCommandGate> {
  const rr = await createRequestReply({
    bus,
    requestTopic: 'commands',
    replyTopic: 'verdicts',
    requestId: (e) => e.commandId,
    // Only verdicts answer a command; a dispute about it is not its verdict.
    replyId: (e) => (e.type === 'VerdictIssued' ? e.commandId : `${e.type}:${e.commandId}`),
    defaultTimeoutMs: timeoutMs,
    ...(instanceId ? { instanceId } : {}),
  });
  return {
    async judge(command, options = {}) {
      try {
        return (await rr.request(command, options)) as VerdictIssued;
      } catch (err) {
        if (err instanceof PortcullisError && err.code === 'PCL_ERR_VERDICT_TIMEOUT') {
          throw new PortcullisError('PCL_ERR_VERDICT_TIMEOUT', `no verdict within ${options.timeoutMs ?? timeoutMs} ms; the command was not run`, { cause: err });
        }
        throw err;
      }
    },
    awaitFinal: (commandId, options) => rr.awaitReply(commandId, { ...options, accept: (v) => v.type === 'VerdictIssued' && v.final }) as Promise<VerdictIssued>,
    close: () => rr.close(),
  };
}
