import net from 'node:net';
import tls from 'node:tls';
import { Kafka, logLevel as KafkaLogLevel, type ISocketFactory, type logCreator } from 'kafkajs';
import type { Logger } from '../logger.ts';
import type { BusConfig } from '../config.ts';

/** kafkajs logs through the service's pino logger (warnings and errors only). */
function pinoLogCreator(logger: Logger): logCreator {
  return () => ({ level, log }) => {
    const { message, ...extra } = log;
    const fields = { namespace: log.namespace, ...extra };
    // A transaction right after another meets CONCURRENT_TRANSACTIONS until the broker has written the
    // previous markers; kafkajs retries it at once and logs each try as an error. It is routine: debug.
    const routine = typeof extra.error === 'string' && extra.error.includes('another concurrent operation on the same transaction');
    if (routine) logger.debug(fields, message);
    else if (level === KafkaLogLevel.ERROR) logger.error(fields, message);
    else if (level === KafkaLogLevel.WARN) logger.warn(fields, message);
    else logger.debug(fields, message);
  };
}

/**
 * kafkajs's own socket factory leaves Nagle's algorithm on; with small
 * request/reply messages that adds tens of milliseconds per hop (Nagle waiting
 * for the peer's delayed ACK). Commands are latency-bound, so: TCP_NODELAY.
 */
const noDelaySocketFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(!net.isIP(host) ? { servername: host } : {}), ...(ssl as tls.ConnectionOptions) }, onConnect)
    : net.connect({ host, port, noDelay: true }, onConnect);
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 60_000);
  return socket;
};

export function createKafka(config: BusConfig, logger: Logger): Kafka {
  return new Kafka({
    clientId: config.clientId,
    brokers: config.brokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: pinoLogCreator(logger),
    socketFactory: noDelaySocketFactory,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, retries: 5, maxRetryTime: 2000 },
  });
}
