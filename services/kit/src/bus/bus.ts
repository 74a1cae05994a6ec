import type { Admin, Consumer, Kafka, Message, Producer } from 'kafkajs';
import { newId, nowIso, type EventOf, type TopicKey, topics } from '@portcullis/schemas';
import type { BusConfig } from '../config.ts';
import { PortcullisError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createKafka } from './kafka.ts';
import { createEventCodec, type EventCodec } from './schema-registry.ts';
import { topicNames, type TopicNames } from './names.ts';
import { contractTopicSpecs, ensureTopics } from './topics.ts';
import { createCoalescingSender, createRenewingProducer } from './coalescing-sender.ts';
import { startSubscription, type Subscription, type SubscriptionOptions } from './subscriber.ts';
import { gatewayMetrics, secondsSince } from '../operability/metrics.ts';

export interface Bus {
  kafka: Kafka;
  codec: EventCodec;
  names: TopicNames;
  logger: Logger;
  /** Creates the topics and registers the schemas (idempotent), connects the producer. */
  connect(): Promise<void>;
  /**
   * Publishes one event: validated with zod, encoded through the registry,
   * written with acks=all by an idempotent producer. Resolves only when the
   * broker has it durably; rejects with PCL_ERR_PUBLISH_FAILED otherwise.
   */
  publish<K extends TopicKey>(key: K, event: EventOf<K>): Promise<void>;
  /**
   * Publishes several events in one produce request (group commit): all are
   * encoded first — an invalid one refuses the lot before anything is sent —
   * then queued together. Resolves when the broker acknowledged every one
   * (acks=all); rejects with PCL_ERR_PUBLISH_FAILED otherwise.
   */
  publishAll(events: readonly PendingEvent[]): Promise<void>;
  subscribe<K extends TopicKey>(options: SubscriptionOptions<K>): Promise<Subscription>;
  admin(): Promise<Admin>;
  disconnect(): Promise<void>;
  /** The schema registry's base URL (readiness probes it). */
  readonly registryUrl: string;
  /** What readiness needs to know: is the producer connected, has a consumer stopped for good. */
  health(): BusHealth;
}

export interface BusHealth {
  /** connect() succeeded and disconnect() was not called since. */
  connected: boolean;
  /** Subscriptions whose consumer crashed without restarting (kafkajs gave up), with the error. */
  crashed: { consumer: string; error: string }[];
  /** Subscriptions running now. */
  consumers: number;
}

/** One event for publishAll. */
export type PendingEvent = { [K in TopicKey]: { key: K; event: EventOf<K> } }[TopicKey];

export interface BusOptions {
  config: BusConfig;
  logger: Logger;
  /** Topic namespace (tests); defaults to PORTCULLIS_TOPIC_NAMESPACE or none. */
  namespace?: string;
  /** Partitions for topics this bus creates. */
  partitions?: number;
}

export function createBus({ config, logger, namespace = process.env.PORTCULLIS_TOPIC_NAMESPACE || undefined, partitions = 3 }: BusOptions): Bus {
  const kafka = createKafka(config, logger);
  const names = topicNames(namespace);
  const codec = createEventCodec({ registryUrl: config.registryUrl, topicName: names.of });
  let producer: Producer | undefined;
  let commandProducer: ReturnType<typeof createRenewingProducer> | undefined;
  let recordProducer: ReturnType<typeof createRenewingProducer> | undefined;
  let send: ((topic: string, message: Message) => Promise<void>) | undefined;
  let sendRecord: ((topic: string, message: Message) => Promise<void>) | undefined;
  let adminClient: Admin | undefined;
  const consumers = new Set<Subscription>();
  let connecting: Promise<void> | undefined;
  const metrics = gatewayMetrics();

  async function admin(): Promise<Admin> {
    if (!adminClient) {
      adminClient = kafka.admin();
      await adminClient.connect();
    }
    return adminClient;
  }

  async function doConnect(): Promise<void> {
    const specs = contractTopicSpecs(partitions).map((s) => ({ ...s, name: s.name === 'portcullis.dead-letter' ? names.deadLetter : names.of(keyByContractName(s.name)) }));
    await ensureTopics(await admin(), specs);
    await codec.ensureSchemas();
    const make = (): Producer => kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    // Dead letters of subscriptions.
    producer = make();
    await producer.connect();
    // Events go through producers renewed after a failed send (see createRenewingProducer). Session
    // events (what happened after a command ran) have their own: a command waiting to be recorded
    // never queues behind the previous command's CommandCompleted. Their order within a session is
    // kept by that producer (and proven by the hash chain's seq).
    commandProducer = createRenewingProducer(make);
    recordProducer = createRenewingProducer(make);
    send = createCoalescingSender(commandProducer);
    sendRecord = createCoalescingSender(recordProducer);
  }

  const bus: Bus = {
    kafka,
    codec,
    names,
    logger,
    admin,
    connect() {
      connecting ??= doConnect().catch((err) => {
        connecting = undefined;
        throw new PortcullisError('PCL_ERR_BUS_UNAVAILABLE', `cannot reach the event bus at ${config.brokers.join(',')}: ${(err as Error).message}`, { cause: err });
      });
      return connecting;
    },
    async publish(key, event) {
      if (!producer) await bus.connect();
      const value = await codec.encode(key, event);
      const startedAt = performance.now();
      try {
        await (key === 'sessionEvents' ? sendRecord! : send!)(names.of(key), { key: topics[key].keyOf(event as never), value, headers: { 'portcullis-type': (event as { type: string }).type } });
        metrics.publishSeconds.observe({ topic: topics[key].name }, secondsSince(startedAt));
      } catch (err) {
        metrics.publishErrors.inc({ topic: topics[key].name });
        throw new PortcullisError('PCL_ERR_PUBLISH_FAILED', `writing ${(event as { type: string }).type} to ${names.of(key)} failed: ${(err as Error).message}`, { cause: err });
      }
    },
    async publishAll(events) {
      if (!producer) await bus.connect();
      // Synchronous up to the send: the schema ids were registered at connect.
      const messages = events.map(({ key, event }) => ({
        topic: names.of(key),
        message: { key: topics[key].keyOf(event as never), value: codec.encodeSync(key, event), headers: { 'portcullis-type': event.type } },
      }));
      const startedAt = performance.now();
      // Labelled by contract topic name (not the namespaced one): the series stay few.
      const contractTopics = [...new Set(events.map((e) => topics[e.key].name))];
      try {
        await Promise.all(messages.map(({ topic, message }, i) => (events[i]!.key === 'sessionEvents' ? sendRecord! : send!)(topic, message)));
        for (const topic of contractTopics) metrics.publishSeconds.observe({ topic }, secondsSince(startedAt));
      } catch (err) {
        for (const topic of contractTopics) metrics.publishErrors.inc({ topic });
        const types = events.map((e) => e.event.type).join(' + ');
        throw new PortcullisError('PCL_ERR_PUBLISH_FAILED', `writing ${types} failed: ${(err as Error).message}`, { cause: err });
      }
    },
    async subscribe(options) {
      if (!producer) await bus.connect();
      const sub = await startSubscription({ kafka, codec, names, logger, producer: producer!, ...options });
      consumers.add(sub);
      return {
        ...sub,
        stop: async () => {
          consumers.delete(sub);
          await sub.stop();
        },
      };
    },
    registryUrl: config.registryUrl,
    health() {
      return {
        connected: producer !== undefined,
        crashed: [...consumers].flatMap((c) => {
          const crash = c.crashed();
          return crash ? [{ consumer: c.name, error: crash }] : [];
        }),
        consumers: consumers.size,
      };
    },
    async disconnect() {
      await Promise.allSettled([...consumers].map((c) => c.stop()));
      consumers.clear();
      await producer?.disconnect().catch(() => undefined);
      await commandProducer?.disconnect().catch(() => undefined);
      await recordProducer?.disconnect().catch(() => undefined);
      await adminClient?.disconnect().catch(() => undefined);
      producer = undefined;
      commandProducer = undefined;
      recordProducer = undefined;
      send = undefined;
      sendRecord = undefined;
      adminClient = undefined;
      connecting = undefined;
    },
  };
  return bus;
}

function keyByContractName(name: string): TopicKey {
  const key = (Object.keys(topics) as TopicKey[]).find((k) => topics[k].name === name);
  if (!key) throw new Error(`no contract for topic ${name}`);
  return key;
}

/** Envelope fields for a new event. */
export const envelopeFields = (sessionId: string): { eventId: string; occurredAt: string; sessionId: string } => ({
  eventId: newId(),
  occurredAt: nowIso(),
  sessionId,
});

export type { Consumer };
