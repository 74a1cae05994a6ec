import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { cacheDir, dataDir, repoRoot } from './paths.ts';
import { HOST, KAFKA_CONTROLLER_PORT, KAFKA_PORT } from './ports.ts';
import { copyDependencies, javaCommand } from './maven.ts';
import { logFile, run, runningPid, startDetached, stopByPidFile, waitUntil } from './processes.ts';

/**
 * Apache Kafka 4.x, one node in KRaft mode (broker and controller in one
 * process), from the Maven Central artifacts resolved by infra/kafka/pom.xml.
 */
export const KAFKA_NAME = 'kafka';
const KAFKA_VERSION = '4.1.1';
const libsDir = join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs');
const kafkaDataDir = join(dataDir, 'kafka');
const propertiesFile = join(dataDir, 'kafka.properties');

function writeProperties(file = propertiesFile, logDirs = kafkaDataDir, port = KAFKA_PORT, controllerPort = KAFKA_CONTROLLER_PORT): void {
  mkdirSync(logDirs, { recursive: true });
  const properties = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${HOST}:${controllerPort}`,
    listeners: `PLAINTEXT://${HOST}:${port},CONTROLLER://${HOST}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${HOST}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': logDirs,
    'num.partitions': '3',
    'auto.create.topics.enable': 'false',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '10',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'log.cleaner.enable': 'true',
  };
  writeFileSync(file, Object.entries(properties).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
}

const classPath = (): string => `${libsDir}/*`;

function formatStorage(java: string, file = propertiesFile, logDirs = kafkaDataDir): void {
  if (existsSync(join(logDirs, 'meta.properties'))) return;
  const clusterId = run(java, ['-cp', classPath(), 'kafka.tools.StorageTool', 'random-uuid']).trim().split('\n').pop()!;
  run(java, ['-cp', classPath(), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', file]);
}

export async function kafkaAnswers(port = KAFKA_PORT): Promise<boolean> {
  const kafka = new Kafka({ brokers: [`${HOST}:${port}`], clientId: 'portcullis-infra', logLevel: logLevel.NOTHING, retry: { retries: 0 }, connectionTimeout: 1000 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function startKafka(): Promise<string> {
  if (runningPid(KAFKA_NAME) && (await kafkaAnswers())) return `${HOST}:${KAFKA_PORT} (already running)`;
  copyDependencies(join(repoRoot, 'infra', 'kafka', 'pom.xml'), libsDir);
  const java = javaCommand();
  writeProperties();
  formatStorage(java);
  if (!runningPid(KAFKA_NAME)) {
    startDetached(KAFKA_NAME, java, [
      '-Xms256m', '-Xmx768m', '-XX:+UseG1GC', '-Djava.awt.headless=true',
      '-cp', classPath(), 'kafka.Kafka', propertiesFile,
    ]);
  }
  await waitUntil('Kafka', kafkaAnswers, 90_000, KAFKA_NAME);
  return `${HOST}:${KAFKA_PORT} KRaft ${KAFKA_VERSION}`;
}

export const stopKafka = (): Promise<string> => stopByPidFile(KAFKA_NAME, 30_000);
export const kafkaLog = (): string => logFile(KAFKA_NAME);

/** A broker of a test's own (never the shared one): it may be SIGKILLed and started again on the same data. */
export interface PrivateKafka {
  brokers: string[];
  /** Kills the broker process (SIGKILL by default) and waits for it to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same ports and data; resolves when it answers. */
  start(): Promise<void>;
}

/**
 * One KRaft node on the given ports with its data in `dir`, for tests that
 * must take Kafka away (the shared broker is never touched).
 */
export async function startPrivateKafka({ dir, port, controllerPort }: { dir: string; port: number; controllerPort: number }): Promise<PrivateKafka> {
  copyDependencies(join(repoRoot, 'infra', 'kafka', 'pom.xml'), libsDir);
  const java = javaCommand();
  const file = join(dir, 'kafka.properties');
  const logDirs = join(dir, 'data');
  writeProperties(file, logDirs, port, controllerPort);
  formatStorage(java, file, logDirs);
  let child: ChildProcess | undefined;
  const broker: PrivateKafka = {
    brokers: [`${HOST}:${port}`],
    async start() {
      child = spawn(java, ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', '-Djava.awt.headless=true', '-cp', classPath(), 'kafka.Kafka', file], { stdio: 'ignore' });
      await waitUntil(`Kafka on ${port}`, () => kafkaAnswers(port), 120_000);
    },
    async kill(signal = 'SIGKILL') {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
      c.kill(signal);
      await exited;
    },
  };
  await broker.start();
  return broker;
}
