/** The console process; settings in config.ts. */
import { busConfigFromEnv, createBus, createLogger, describeError, startServiceAdmin } from '@portcullis/kit';
import { consoleConfigFromEnv } from './config.ts';
import { startConsole } from './service.ts';

const logger = createLogger('console');
try {
  const bus = createBus({ config: busConfigFromEnv('console'), logger });
  await bus.connect();
  const service = await startConsole({ bus, logger, config: consoleConfigFromEnv() });
  // /healthz, /readyz, /metrics on PORTCULLIS_ADMIN_PORT (default 9608).
  const admin = await startServiceAdmin({ service: 'console', bus, logger });
  const shutdown = async (): Promise<void> => {
    await admin.close();
    await service.stop();
    await bus.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
} catch (err) {
  logger.fatal({ err: describeError(err) }, 'console failed to start');
  process.exit(1);
}
