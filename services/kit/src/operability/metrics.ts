import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';

/**
 * The gateway's Prometheus metrics, one naming scheme (`portcullis_*`), one
 * registry per process. They are recorded where every proxy and service
 * passes through (kit's judgeCommand, SessionRecord, the bus, the masking
 * functions), so a proxy gets them without code of its own. Labels never
 * carry a value from a command or a result: protocol, resource name, effect,
 * detector, topic.
 */
export interface GatewayMetrics {
  registry: Registry;
  connections: Counter<'protocol'>;
  sessionsOpened: Counter<'protocol' | 'resource'>;
  sessionsActive: Gauge<'protocol' | 'resource'>;
  commands: Counter<'protocol' | 'resource' | 'effect'>;
  decisionSeconds: Histogram<'protocol'>;
  recordSeconds: Histogram<'event'>;
  holdsPending: Gauge<'protocol'>;
  publishSeconds: Histogram<'topic'>;
  publishErrors: Counter<'topic'>;
  consumerLag: Gauge<'consumer' | 'topic' | 'partition'>;
  webhookDeliveries: Counter<'endpoint' | 'outcome'>;
  masked: Counter<'detector'>;
}

/** Latency buckets in seconds: a decision at the edge takes a few ms; a Kafka round trip tens. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

function once<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

export function createGatewayMetrics(registry = new Registry()): GatewayMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    once(registry, name, () => new Counter({ name, help, labelNames, registers }));
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    once(registry, name, () => new Gauge({ name, help, labelNames, registers }));
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[]): Histogram<L> =>
    once(registry, name, () => new Histogram({ name, help, labelNames, buckets: LATENCY_BUCKETS, registers }));
  return {
    registry,
    connections: counter('portcullis_connections_total', 'Client connections a proxy accepted, before authentication', ['protocol']),
    sessionsOpened: counter('portcullis_sessions_opened_total', 'Sessions opened (authenticated and recorded), by protocol and resource', ['protocol', 'resource']),
    sessionsActive: gauge('portcullis_sessions_active', 'Sessions open now, by protocol and resource', ['protocol', 'resource']),
    commands: counter('portcullis_commands_total', 'Commands judged, by final effect (allow, mask, block, hold-denied, or the refusal when no verdict came)', ['protocol', 'resource', 'effect']),
    decisionSeconds: histogram('portcullis_decision_seconds', 'From a command reaching the gate to its first verdict (recorded in the log with it)', ['protocol']),
    recordSeconds: histogram('portcullis_record_seconds', 'Writing one session event of the record (acknowledged by Kafka)', ['event']),
    holdsPending: gauge('portcullis_holds_pending', 'Held commands this process waits on for an approval', ['protocol']),
    publishSeconds: histogram('portcullis_kafka_publish_seconds', 'Kafka publish latency (acks=all), by topic', ['topic']),
    publishErrors: counter('portcullis_kafka_publish_errors_total', 'Kafka publishes that failed, by topic', ['topic']),
    consumerLag: gauge('portcullis_kafka_consumer_lag', 'Messages between a consumer and the end of the partition, after its last batch', ['consumer', 'topic', 'partition']),
    webhookDeliveries: counter('portcullis_webhook_deliveries_total', 'Approval webhook deliveries, by endpoint name and outcome (delivered, failed)', ['endpoint', 'outcome']),
    masked: counter('portcullis_masked_values_total', 'Values masked, by detector (counts only, never values)', ['detector']),
  };
}

let processMetrics: GatewayMetrics | undefined;

/**
 * This process's metrics. The registry also holds Node's process metrics
 * (memory, event loop lag, GC) under `portcullis_process_*` / `portcullis_nodejs_*`.
 */
export function gatewayMetrics(): GatewayMetrics {
  if (!processMetrics) {
    processMetrics = createGatewayMetrics();
    collectDefaultMetrics({ register: processMetrics.registry, prefix: 'portcullis_' });
  }
  return processMetrics;
}

/** Seconds since `startedAt` (performance.now()), for a histogram. */
export const secondsSince = (startedAt: number): number => (performance.now() - startedAt) / 1000;
