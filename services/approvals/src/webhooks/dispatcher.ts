/**
 * Delivers every approval event to the configured endpoints, signed.
 *
 * Each endpoint is a consumer group of its own on portcullis.approvals
 * (`portcullis-approvals-webhook-<name>`), which is its queue: an offset is
 * committed only after the endpoint took the event (2xx) or delivery gave up,
 * so deliveries survive restarts (at least once; receivers deduplicate on
 * the Idempotency-Key header, the eventId), and a dead endpoint delays only
 * its own group. Giving up sends the event to the dead-letter topic with the
 * endpoint's name and the last failure in its headers, and logs it.
 *
 * Retries back off exponentially within one delivery, heartbeating the
 * group between attempts; on shutdown an unfinished delivery is not
 * committed and is retried after the restart.
 *
 * Endpoint URLs can carry credentials (Slack's incoming webhook URLs do), so
 * logs and dead letters name an endpoint by its configured name only.
 */
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { z } from 'zod';
import type { ApprovalsTopicEvent } from '@portcullis/schemas';
import type { Consumer, KafkaMessage } from 'kafkajs';
import { deadLetterRecord, describeError, gatewayMetrics, PortcullisError, type Bus, type Logger } from '@portcullis/kit';
import type { ApprovalState } from '../decider.ts';
import { EVENT_TYPE_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signPayload } from './signature.ts';
import { slackMessage } from './slack.ts';

export const WebhookEndpointConfig = z.object({
  /** Names the endpoint in logs and its consumer group; default: a hash of the URL. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional(),
  url: z.string().url(),
  /** Name of the environment variable that holds the signing secret (never the secret itself). */
  secretEnv: z.string().min(1),
  format: z.enum(['json', 'slack']).default('json'),
});
export type WebhookEndpointConfig = z.input<typeof WebhookEndpointConfig>;

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  timeoutMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 500, maxDelayMs: 30_000, timeoutMs: 5000 };

export interface WebhookDispatcher {
  /** Resolves once every endpoint's group has joined. */
  ready: Promise<void>;
  stop(): Promise<void>;
}

interface Endpoint {
  name: string;
  url: string;
  secret: string;
  format: 'json' | 'slack';
}

/** Parses PORTCULLIS_APPROVER_WEBHOOKS-style config and resolves each secret from the environment. */
export function resolveEndpoints(configs: WebhookEndpointConfig[], env: NodeJS.ProcessEnv = process.env): Endpoint[] {
  return configs.map((raw, i) => {
    const parsed = WebhookEndpointConfig.safeParse(raw);
    if (!parsed.success) throw new PortcullisError('PCL_ERR_CONFIG', `webhook ${i}: ${parsed.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}`);
    const { url, secretEnv, format } = parsed.data;
    const name = parsed.data.name ?? `endpoint-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
    const secret = env[secretEnv];
    if (!secret) throw new PortcullisError('PCL_ERR_CONFIG', `webhook ${name}: the environment variable ${secretEnv} (its signing secret) is not set`);
    const u = new URL(url);
    if (u.protocol !== 'https:' && !['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
      throw new PortcullisError('PCL_ERR_CONFIG', `webhook ${name}: use an https URL (http only on loopback)`);
    }
    return { name, url, secret, format };
  });
}

export async function startWebhookDispatcher({
  bus,
  logger,
  endpoints,
  lookup,
  apiUrl,
  retry = DEFAULT_RETRY,
}: {
  bus: Bus;
  logger: Logger;
  endpoints: Endpoint[];
  /** The approval's current state, for the Slack message's details. */
  lookup: (approvalId: string) => ApprovalState;
  /** Where approvers reach the API (links in messages). */
  apiUrl: string;
  retry?: RetryPolicy;
}): Promise<WebhookDispatcher> {
  let stopping = false;
  const stopped = new AbortController();
  // Every delivery attempt listens for shutdown (AbortSignal.any); that is expected, not a leak.
  setMaxListeners(0, stopped.signal);

  const deliveries = gatewayMetrics().webhookDeliveries;
  async function deliver(endpoint: Endpoint, event: ApprovalsTopicEvent, heartbeat: () => Promise<void>): Promise<void> {
    const body = JSON.stringify(endpoint.format === 'slack' ? slackMessage(event, lookup(event.approvalId), apiUrl) : event);
    let lastFailure = '';
    for (let attempt = 1; attempt <= retry.attempts; attempt++) {
      if (stopping) throw new PortcullisError('PCL_ERR_HANDLER', 'stopping', { retriable: true });
      try {
        const res = await fetch(endpoint.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'user-agent': 'portcullis-approvals',
            [SIGNATURE_HEADER]: signPayload(endpoint.secret, body, Math.floor(Date.now() / 1000)),
            [IDEMPOTENCY_HEADER]: event.eventId,
            [EVENT_TYPE_HEADER]: event.type,
          },
          body,
          redirect: 'error',
          signal: AbortSignal.any([AbortSignal.timeout(retry.timeoutMs), stopped.signal]),
        });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          logger.debug({ endpoint: endpoint.name, eventId: event.eventId, attempt }, 'webhook delivered');
          deliveries.inc({ endpoint: endpoint.name, outcome: 'delivered' });
          return;
        }
        lastFailure = `HTTP ${res.status}`;
      } catch (err) {
        lastFailure = (err as Error).name === 'TimeoutError' ? `no answer within ${retry.timeoutMs} ms` : `unreachable (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name})`;
      }
      logger.warn({ endpoint: endpoint.name, eventId: event.eventId, type: event.type, attempt, failure: lastFailure }, 'webhook delivery failed');
      deliveries.inc({ endpoint: endpoint.name, outcome: 'attempt-failed' });
      if (attempt < retry.attempts) {
        // Backoff with jitter, heartbeating the group so a long pause never costs a rebalance.
        let wait = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1)) * (0.8 + Math.random() * 0.4);
        while (wait > 0 && !stopping) {
          await sleep(Math.min(wait, 2000), stopped.signal);
          wait -= 2000;
          await heartbeat().catch(() => undefined);
        }
      }
    }
    logger.error({ endpoint: endpoint.name, eventId: event.eventId, type: event.type, attempts: retry.attempts, failure: lastFailure }, 'webhook delivery gave up; the event goes to the dead-letter topic');
    deliveries.inc({ endpoint: endpoint.name, outcome: 'gave-up' });
    throw new PortcullisError('PCL_ERR_HANDLER', `webhook ${endpoint.name} gave up after ${retry.attempts} attempts: ${lastFailure}`, { retriable: false });
  }

  const admin = await bus.admin();
  const topic = bus.names.of('approvals');
  const deadLetters = bus.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await deadLetters.connect();
  const consumers: Consumer[] = [];
  const joined: Promise<void>[] = [];

  async function deadLetter(endpoint: Endpoint, groupId: string, partition: number, message: KafkaMessage, reason: string): Promise<void> {
    await deadLetters.send({
      topic: bus.names.deadLetter,
      acks: -1,
      messages: [deadLetterRecord({ topic, partition, group: groupId }, message, reason, { 'portcullis-webhook': endpoint.name })],
    });
  }

  for (const endpoint of endpoints) {
    const groupId = bus.names.group(`portcullis-approvals-webhook-${endpoint.name}`);
    // A new group starts at the end of the log (no history replay), measured before joining so nothing published meanwhile is skipped.
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const isNew = committed.every((t) => t.partitions.every((p) => p.offset === '-1'));
    const ends = isNew ? await admin.fetchTopicOffsets(topic) : [];
    const consumer = bus.kafka.consumer({ groupId, maxWaitTimeInMs: 200, sessionTimeout: 30_000, heartbeatInterval: 3000, allowAutoTopicCreation: false, readUncommitted: false });
    consumers.push(consumer);
    joined.push(new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => {
      if (isNew) for (const { partition, offset } of ends) consumer.seek({ topic, partition, offset });
      resolve();
    })));
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message, heartbeat }) => {
        let event: ApprovalsTopicEvent | undefined;
        try {
          event = await bus.codec.decode('approvals', message.value);
        } catch (err) {
          await deadLetter(endpoint, groupId, partition, message, describeError(err));
        }
        if (event) {
          try {
            await deliver(endpoint, event, heartbeat);
          } catch (err) {
            if (stopping) throw err; // not committed: delivered again after the restart
            await deadLetter(endpoint, groupId, partition, message, describeError(err));
          }
        }
        await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
      },
    });
  }
  logger.info({ endpoints: endpoints.map((e) => `${e.name} (${e.format})`) }, 'webhook dispatcher running');

  return {
    ready: Promise.all(joined).then(() => undefined),
    async stop() {
      stopping = true;
      stopped.abort();
      await Promise.allSettled(consumers.map((c) => c.disconnect()));
      await deadLetters.disconnect().catch(() => undefined);
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
