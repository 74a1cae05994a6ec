import { randomBytes } from 'node:crypto';
import { createBus, type Bus } from './bus/bus.ts';
import { busConfigFromEnv } from './config.ts';
import { createLogger, silentLogger } from './logger.ts';

/**
 * A bus in a namespace of its own (topics, subjects and groups prefixed), for
 * integration tests: tests never see each other's events.
 */
export function createTestBus(name: string, options: { partitions?: number } = {}): Bus {
  const namespace = `t-${name}-${randomBytes(4).toString('hex')}`;
  const logger = process.env.PORTCULLIS_TEST_LOGS ? createLogger(`test-${name}`) : silentLogger();
  return createBus({ config: busConfigFromEnv(`test-${name}`), logger, namespace, partitions: options.partitions ?? 1 });
}

/** Resolves when `predicate` holds, polling; rejects after `timeoutMs` with `what` in the message. */
export async function eventually<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
