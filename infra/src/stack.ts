import { postgresStatus, startPostgres, stopPostgres } from './postgres.ts';
import { kafkaAnswers, startKafka, stopKafka } from './kafka.ts';
import { registryAnswers, startRegistry, stopRegistry } from './registry.ts';
import { HOST, KAFKA_PORT, OIDC_PORT, registryUrl } from './ports.ts';
import { oidcProviderStatus, startOidcProvider, stopOidcProvider } from './oidc/index.ts';

export interface Component {
  name: string;
  start(): Promise<string>;
  stop(): Promise<string>;
  /** A short description when it answers, undefined when it does not. */
  status(): Promise<string | undefined>;
}

/** In start order: the registry stores its schemas in PostgreSQL. */
export const components: Component[] = [
  { name: 'postgres', start: startPostgres, stop: stopPostgres, status: postgresStatus },
  { name: 'kafka', start: startKafka, stop: stopKafka, status: async () => ((await kafkaAnswers()) ? `${HOST}:${KAFKA_PORT}` : undefined) },
  { name: 'registry', start: startRegistry, stop: stopRegistry, status: async () => ((await registryAnswers()) ? registryUrl() : undefined) },
  {
    name: 'oidc',
    start: async () => `${(await startOidcProvider({ port: OIDC_PORT })).issuer} (local OpenID provider)`,
    stop: async () => ((await stopOidcProvider()) ? 'stopped' : 'not running'),
    status: async () => {
      const s = await oidcProviderStatus();
      return s.running ? s.issuer : undefined;
    },
  },
];
