import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from './paths.ts';
import { HOST, REGISTRY_PORT, registryUrl } from './ports.ts';
import { copyArtifact, javaCommand } from './maven.ts';
import { postgresConnection } from './postgres.ts';
import { logFile, run, runningPid, startDetached, stopByPidFile, waitUntil } from './processes.ts';

/**
 * Apicurio Registry 3.x from Maven Central, serving the Confluent-compatible
 * API at /apis/ccompat/v7, storing its schemas in the local PostgreSQL
 * (database `apicurio`) so they survive a restart.
 *
 * 3.0.x is the last line built for Java 17 (3.1+ needs Java 21); its
 * distribution is a Quarkus uber-jar (`*-runner.jar`) where later ones ship
 * `quarkus-run.jar` — both are handled.
 */
export const REGISTRY_NAME = 'registry';
const APICURIO_VERSION = process.env.PORTCULLIS_APICURIO_VERSION ?? '3.0.9';
const distDir = join(cacheDir, `apicurio-registry-${APICURIO_VERSION}`);

function ensureDistribution(): string {
  const find = (): string | undefined => {
    if (!existsSync(distDir)) return undefined;
    const files = readdirSync(distDir);
    if (files.includes('quarkus-run.jar')) return join(distDir, 'quarkus-run.jar');
    const runner = files.find((f) => f.endsWith('-runner.jar'));
    return runner ? join(distDir, runner) : undefined;
  };
  const existing = find();
  if (existing) return existing;
  const archive = copyArtifact(`io.apicurio:apicurio-registry-app:${APICURIO_VERSION}:tar.gz:all`, join(cacheDir, 'downloads'));
  mkdirSync(distDir, { recursive: true });
  run('tar', ['-xzf', archive, '-C', distDir]);
  const jar = find();
  if (!jar) throw new Error(`no runnable jar in ${archive}`);
  return jar;
}

export async function registryAnswers(): Promise<boolean> {
  try {
    const res = await fetch(`${registryUrl()}/subjects`, { signal: AbortSignal.timeout(1500) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startRegistry(): Promise<string> {
  if (await registryAnswers()) return `${registryUrl()} (already running)`;
  const jar = ensureDistribution();
  const pg = postgresConnection();
  if (!runningPid(REGISTRY_NAME)) {
    startDetached(REGISTRY_NAME, javaCommand(), ['-Xms128m', '-Xmx384m', '-jar', jar], {
      cwd: join(jar, '..'),
      env: {
        ...process.env,
        QUARKUS_HTTP_HOST: HOST,
        QUARKUS_HTTP_PORT: String(REGISTRY_PORT),
        APICURIO_STORAGE_KIND: 'sql',
        APICURIO_STORAGE_SQL_KIND: 'postgresql',
        APICURIO_DATASOURCE_URL: `jdbc:postgresql://${pg.host}:${pg.port}/apicurio`,
        APICURIO_DATASOURCE_USERNAME: pg.user,
        APICURIO_DATASOURCE_PASSWORD: pg.password,
        QUARKUS_LOG_CONSOLE_JSON: 'false',
      },
    });
  }
  await waitUntil('Schema registry', registryAnswers, 120_000, REGISTRY_NAME);
  return `${registryUrl()} Apicurio ${APICURIO_VERSION}`;
}

export const stopRegistry = (): Promise<string> => stopByPidFile(REGISTRY_NAME, 20_000);
export const registryLog = (): string => logFile(REGISTRY_NAME);
