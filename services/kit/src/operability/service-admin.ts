import type { Registry } from 'prom-client';
import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import { startAdminServer, type AdminServer } from './admin-server.ts';
import { busChecks, type BusCheckOptions } from './checks.ts';
import type { ReadinessCheck } from './readiness.ts';
import { adminSettingsFromEnv, type AdminService } from './settings.ts';

/**
 * What a service's main.ts calls once, after the service started: its admin
 * server on the port from the environment, with the bus checks and the
 * service's own (policy state, target catalog, database…). The consumers
 * running at that moment are the ones readiness expects to keep running.
 */
export function startServiceAdmin(options: {
  service: AdminService;
  bus: Bus;
  logger: Logger;
  checks?: readonly ReadinessCheck[];
  registries?: readonly Registry[];
  env?: NodeJS.ProcessEnv;
} & BusCheckOptions): Promise<AdminServer> {
  const { service, bus, logger } = options;
  return startAdminServer({
    service,
    logger,
    ...adminSettingsFromEnv(service, options.env),
    checks: [...busChecks(bus, { expectedConsumers: options.expectedConsumers ?? bus.health().consumers }), ...(options.checks ?? [])],
    ...(options.registries ? { registries: options.registries } : {}),
  });
}
