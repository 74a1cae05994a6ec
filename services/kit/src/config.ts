import { z } from 'zod';
import { PortcullisError } from './errors.ts';

/**
 * Where the bus is. Every service reads these from the environment; the
 * defaults are the local stack that `npm run infra:up` starts.
 */
export const BusConfig = z.object({
  brokers: z.array(z.string().min(1)).min(1),
  registryUrl: z.string().url(),
  clientId: z.string().min(1),
});
export type BusConfig = z.infer<typeof BusConfig>;

export function busConfigFromEnv(clientId: string, env: NodeJS.ProcessEnv = process.env): BusConfig {
  const parsed = BusConfig.safeParse({
    brokers: (env.PORTCULLIS_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',').map((b) => b.trim()),
    registryUrl: env.PORTCULLIS_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    clientId,
  });
  if (!parsed.success) {
    throw new PortcullisError('PCL_ERR_CONFIG', `bus configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}

/** Reads a positive integer setting with a default, refusing nonsense with a clear message. */
export function intSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new PortcullisError('PCL_ERR_CONFIG', `${name} must be a non-negative integer, got "${raw}"`);
  return n;
}
