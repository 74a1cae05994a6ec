import type { Registry } from 'prom-client';
import type { Bus } from '../bus/bus.ts';
import type { Logger } from '../logger.ts';
import { startAdminServer, type AdminServer } from './admin-server.ts';
import { busChecks, type BusCheckOptions } from './checks.ts';
import type { ReadinessCheck } from './readiness.ts';
import { adminSettingsFromEnv, type AdminService } from './settings.ts';
import { startTracing } from './tracing.ts';

/**
 * What a service's main.ts calls once, after the service started: its admin
 * server on the port from the environment, with the bus checks and the
 * service's own (policy state, target catalog, database…). The consumers
 * running at that moment are the ones readiness expects to keep running.
 */
export async function startServiceAdmin(options: {
  service: AdminService;
  bus: Bus;
  logger: Logger;
  checks?: readonly ReadinessCheck[];
  registries?: readonly Registry[];
  env?: NodeJS.ProcessEnv;
} & BusCheckOptions): Promise<AdminServer> {
  const { service, bus, logger } = options;
  // Traces go out over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; the admin server's close flushes them.
  const tracing = startTracing(service, options.env);
  if (tracing) logger.info('exporting traces over OTLP');
  const admin = await startAdminServer({
    service,
    logger,
    ...adminSettingsFromEnv(service, options.env),
    checks: [...busChecks(bus, { expectedConsumers: options.expectedConsumers ?? bus.health().consumers }), ...(options.checks ?? [])],
    ...(options.registries ? { registries: options.registries } : {}),
  });
  return {
    ...admin,
    async close() {
      await admin.close();
      await tracing?.shutdown();
    },
  };
}
