import { Counter, Gauge, Registry, type Metric } from 'prom-client';

/**
 * Prometheus metrics of the projections. Several projections in one process
 * share a registry (the `projection` label tells them apart); tests give each
 * projection a registry of its own.
 */
export interface ProjectionMetrics {
  registry: Registry;
  eventsProcessed: Counter<'projection' | 'type'>;
  consumerLag: Gauge<'projection' | 'topic' | 'partition'>;
  secondsBehind: Gauge<'projection' | 'topic' | 'partition'>;
  transactions: Counter<'projection'>;
  errors: Counter<'projection' | 'kind'>;
  deadLetters: Counter<'projection' | 'topic'>;
}

function once<M extends Metric>(registry: Registry, name: string, create: () => M): M {
  return (registry.getSingleMetric(name) as M | undefined) ?? create();
}

export function projectionMetrics(registry = new Registry()): ProjectionMetrics {
  return {
    registry,
    eventsProcessed: once(registry, 'portcullis_projection_events_processed_total', () => new Counter({
      name: 'portcullis_projection_events_processed_total',
      help: 'Events applied to the projection, by event type',
      labelNames: ['projection', 'type'] as const,
      registers: [registry],
    })),
    consumerLag: once(registry, 'portcullis_projection_consumer_lag', () => new Gauge({
      name: 'portcullis_projection_consumer_lag',
      help: 'Messages between the projection checkpoint and the end of the partition (sampled every second)',
      labelNames: ['projection', 'topic', 'partition'] as const,
      registers: [registry],
    })),
    secondsBehind: once(registry, 'portcullis_projection_seconds_behind', () => new Gauge({
      name: 'portcullis_projection_seconds_behind',
      help: 'Seconds the view is behind the newest event of the partition: 0 when caught up, else the age of the last event applied',
      labelNames: ['projection', 'topic', 'partition'] as const,
      registers: [registry],
    })),
    transactions: once(registry, 'portcullis_projection_transactions_total', () => new Counter({
      name: 'portcullis_projection_transactions_total',
      help: 'PostgreSQL transactions the projection committed (each holds one or more Kafka batches and their checkpoints)',
      labelNames: ['projection'] as const,
      registers: [registry],
    })),
    errors: once(registry, 'portcullis_projection_errors_total', () => new Counter({
      name: 'portcullis_projection_errors_total',
      help: 'Projection errors: failed batches (retried) and unusable events (dead-lettered)',
      labelNames: ['projection', 'kind'] as const,
      registers: [registry],
    })),
    deadLetters: once(registry, 'portcullis_projection_dead_letters_total', () => new Counter({
      name: 'portcullis_projection_dead_letters_total',
      help: 'Messages the projection could not use and sent to the dead-letter topic',
      labelNames: ['projection', 'topic'] as const,
      registers: [registry],
    })),
  };
}
