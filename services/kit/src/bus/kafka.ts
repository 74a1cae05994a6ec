import { Kafka, logLevel as KafkaLogLevel, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.ts';
import type { BusConfig } from '../config.ts';

/** kafkajs logs through the service's pino logger (warnings and errors only). */
function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ level, log }) => {
    const { message, ...extra } = log;
    const fields = { namespace: log.namespace, ...extra };
    if (level === KafkaLogLevel.ERROR) logger.error(fields, message);
    else if (level === KafkaLogLevel.WARN) logger.warn(fields, message);
    else logger.debug(fields, message);
  };
}

export function createKafka(config: BusConfig, logger: Logger): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: pinoLogCreator(logger),
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
  });
}
