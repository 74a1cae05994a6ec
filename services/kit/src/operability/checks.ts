import type { CommandGate } from '../gateway/ports.ts';
import type { Pool } from 'pg';
import type { Follower } from '../bus/follow.ts';
import type { ProjectionStatus } from '../projection/status.ts';
import type { Bus } from '../bus/bus.ts';
import type { ReadinessCheck } from './readiness.ts';

export interface BusCheckOptions {
  /** Subscriptions the service runs once started; fewer running means one was stopped. */
  expectedConsumers?: number;
}

/**
 * The bus checks every service has: `kafka` — the producer is connected and a
 * broker answers a metadata request now; `consumers` — no subscription has
 * crashed for good (and as many run as expected); `registry` — the schema
 * registry answers (events cannot be encoded or decoded without it).
 */
export function busChecks(bus: Bus, options: BusCheckOptions = {}): ReadinessCheck[] {
  return [
    {
      name: 'kafka',
      async check() {
        if (!bus.health().connected) throw new Error('the producer is not connected');
        const cluster = await (await bus.admin()).describeCluster();
        if (cluster.brokers.length === 0) throw new Error('the cluster reports no broker');
      },
    },
    {
      name: 'consumers',
      check() {
        const { crashed, consumers } = bus.health();
        if (crashed.length > 0) throw new Error(crashed.map((c) => `${c.consumer} stopped: ${c.error}`).join('; '));
        const expected = options.expectedConsumers ?? 0;
        if (consumers < expected) throw new Error(`${consumers} of ${expected} consumers running`);
      },
    },
    registryCheck(bus.registryUrl),
  ];
}

/** The schema registry answers its (Confluent-compatible) config endpoint. */
export function registryCheck(registryUrl: string): ReadinessCheck {
  return {
    name: 'registry',
    async check() {
      const res = await fetch(`${registryUrl.replace(/\/+$/, '')}/config`, { signal: AbortSignal.timeout(1500) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`the schema registry answered ${res.status}`);
    },
  };
}

/** `policy-state`: the gate can decide now (its policy state is current); the reason when not. */
export function gateCheck(gate: Pick<CommandGate, 'unavailable' | 'currentPolicyVersion'>): ReadinessCheck {
  return {
    name: 'policy-state',
    check() {
      const why = gate.unavailable?.();
      if (why) throw new Error(why);
    },
  };
}

/**
 * `target-catalog`: the proxy has targets, and each one's credential can be
 * read now (a file that went missing, an unset variable). The check names the
 * resource and the reference, never the secret.
 */
export function targetCatalogCheck<R extends { name: string }>(resources: readonly R[], readCredential: (resource: R) => unknown): ReadinessCheck {
  return {
    name: 'target-catalog',
    check() {
      if (resources.length === 0) throw new Error('no resource is configured');
      const problems: string[] = [];
      for (const r of resources) {
        try {
          readCredential(r);
        } catch (err) {
          problems.push(`${r.name}: ${err instanceof Error ? err.message : 'credential unreadable'}`);
        }
      }
      if (problems.length > 0) throw new Error(problems.join('; '));
    },
  };
}

/** A follower's state (policies, approvals) has heard from the broker within `maxAgeMs`. */
export function followerCheck(name: string, follower: Pick<Follower, 'lastFetchAt'>, maxAgeMs = 10_000): ReadinessCheck {
  return {
    name,
    check() {
      const age = Date.now() - follower.lastFetchAt();
      if (age > maxAgeMs) throw new Error(`not refreshed from Kafka for ${(age / 1000).toFixed(1)} s`);
    },
  };
}

/** `database`: a connection from the pool answers now. */
export function databaseCheck(pool: Pick<Pool, 'query'>): ReadinessCheck {
  return {
    name: 'database',
    async check() {
      await pool.query('SELECT 1');
    },
  };
}

/** `projection:<name>`: the projection samples its position (it runs) and has caught up at least once. */
export function projectionCheck(status: () => ProjectionStatus, maxSampleAgeMs = 30_000): ReadinessCheck {
  const name = `projection:${status().projection}`;
  return {
    name,
    check() {
      const s = status();
      if (s.sampledAt === null) throw new Error('has not sampled its position yet');
      const age = Date.now() - Date.parse(s.sampledAt);
      if (age > maxSampleAgeMs) throw new Error(`last sampled its position ${(age / 1000).toFixed(1)} s ago`);
    },
  };
}
