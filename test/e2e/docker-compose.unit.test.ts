/**
 * docker-compose.yml cannot be run here (no Docker engine), so it is checked
 * against what runs without it: the same services as npm start (infra's
 * gateway service table) from the same build output, the same ports
 * (infra/src/ports.ts, the admin ports in kit), environment the services
 * actually read, and a portcullis.yaml the configuration schema accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parse } from 'yaml';
import { DEFAULT_ADMIN_PORTS, type AdminService } from '@portcullis/kit';
import { GATEWAY_SERVICES, builtEntry, repoRoot } from '@portcullis/infra';
import { DEFAULT_CONSOLE_PORT } from '../../services/console/src/server/config.ts';
import { PortcullisDocument } from '../../services/cli/src/config/portcullis-schema.ts';

// The ports' defaults, as infra/src/ports.ts has them when no variable moves them.
const ports = await import('../../infra/src/ports.ts');

interface ComposeService {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  network_mode?: string;
  healthcheck?: { test: string[] };
}
const compose = parse(readFileSync(join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };
/** npm start runs the audit projection inside the replay projection's process (PORTCULLIS_QUERY_API_ALL=1); so does compose. */
const RUN = GATEWAY_SERVICES.filter((s) => s.name !== 'audit-projection');
const gatewayEnv = (name: string): Record<string, string> => compose.services[name]?.environment ?? {};

test('given docker-compose.yml, then it runs every gateway service npm start runs, from its build output with plain node', () => {
  for (const s of RUN) {
    const service = compose.services[s.name];
    assert.ok(service, `docker-compose.yml has a ${s.name} service`);
    assert.deepEqual(service.command, ['node', relative(repoRoot, builtEntry(s))], `${s.name} runs its package.json main`);
    assert.equal(service.network_mode, 'host', `${s.name} shares the host's loopback (Kafka advertises 127.0.0.1)`);
  }
  assert.equal(compose.services['audit-projection'], undefined, 'the audit projection runs inside replay-projection, as in npm start');
  assert.equal(gatewayEnv('replay-projection').PORTCULLIS_QUERY_API_ALL, '1');
});

test('given the gateway services, then their admin ports are kit\'s defaults, bound to loopback, and the healthcheck asks /readyz there', () => {
  for (const s of RUN) {
    const env = gatewayEnv(s.name);
    const port = DEFAULT_ADMIN_PORTS[s.name as AdminService];
    assert.equal(env.PORTCULLIS_ADMIN_PORT, String(port), s.name);
    assert.equal(env.PORTCULLIS_ADMIN_HOST, '127.0.0.1', s.name);
    assert.ok(compose.services[s.name]!.healthcheck!.test.join(' ').includes(`http://127.0.0.1:${port}/readyz`), `${s.name} healthcheck`);
  }
});

test('given the stack and the data ports, then they are infra/src/ports.ts\'s', () => {
  assert.deepEqual(compose.services.postgres!.ports, [`127.0.0.1:${ports.POSTGRES_PORT}:5432`]);
  assert.deepEqual(compose.services.kafka!.ports, [`127.0.0.1:${ports.KAFKA_PORT}:9092`]);
  assert.deepEqual(compose.services.registry!.ports, [`127.0.0.1:${ports.REGISTRY_PORT}:8080`]);
  for (const s of RUN) {
    const env = gatewayEnv(s.name);
    assert.equal(env.PORTCULLIS_KAFKA_BROKERS, ports.kafkaBrokers().join(','), s.name);
    assert.equal(env.PORTCULLIS_REGISTRY_URL, ports.registryUrl(), s.name);
    assert.equal(env.PORTCULLIS_OIDC_ISSUER, `http://${ports.HOST}:${ports.OIDC_PORT}`, s.name);
  }
  assert.equal(gatewayEnv('proxy-ssh').PORTCULLIS_SSH_PORT, String(ports.PROXY_SSH_PORT));
  assert.equal(gatewayEnv('proxy-ssh').PORTCULLIS_SSH_KEYS_PORT, String(ports.PROXY_SSH_KEYS_PORT));
  assert.equal(gatewayEnv('proxy-http').PORTCULLIS_HTTP_PORT, String(ports.PROXY_HTTP_PORT));
  assert.equal(gatewayEnv('approvals').PORTCULLIS_APPROVALS_PORT, String(ports.APPROVALS_PORT));
  assert.equal(gatewayEnv('replay-projection').PORTCULLIS_API_PORT, String(ports.QUERY_API_PORT));
  assert.equal(gatewayEnv('console').PORTCULLIS_CONSOLE_PORT, String(DEFAULT_CONSOLE_PORT));
});

test('given the compose portcullis.yaml, then the schema accepts it, the PostgreSQL proxy listens on infra\'s port and every credential variable is set', () => {
  const configPath = gatewayEnv('proxy-postgres').PORTCULLIS_CONFIG!;
  assert.ok(configPath.startsWith('/repo/'), configPath);
  for (const s of RUN) assert.equal(gatewayEnv(s.name).PORTCULLIS_CONFIG, configPath, s.name);
  const parsed = PortcullisDocument.safeParse(parse(readFileSync(join(repoRoot, configPath.slice('/repo/'.length)), 'utf8')));
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  const doc = parsed.data as { postgres?: { listen?: { port?: number } }; resources: { protocol: string; credential?: { env?: string }; token?: { env?: string } }[] };
  assert.equal(doc.postgres?.listen?.port, ports.PROXY_PG_PORT);
  const proxyOf: Record<string, string> = { postgres: 'proxy-postgres', ssh: 'proxy-ssh', http: 'proxy-http', kubernetes: 'proxy-http' };
  for (const r of doc.resources) {
    const variable = r.credential?.env ?? r.token?.env;
    if (variable) assert.ok(gatewayEnv(proxyOf[r.protocol]!)[variable], `${proxyOf[r.protocol]} has ${variable}`);
  }
});

test('given every PORTCULLIS_* variable compose sets, then a service reads it (no setting that nothing reads)', () => {
  const sources: string[] = [];
  const collect = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (name === 'node_modules' || name === 'dist' || name === 'test') continue;
      if (statSync(path).isDirectory()) collect(path);
      else if (path.endsWith('.ts')) sources.push(readFileSync(path, 'utf8'));
    }
  };
  for (const s of GATEWAY_SERVICES) collect(join(repoRoot, s.workspace, 'src'));
  collect(join(repoRoot, 'services/kit/src'));
  const config = readFileSync(join(repoRoot, 'infra/compose/portcullis.yaml'), 'utf8');
  for (const s of RUN) {
    for (const variable of Object.keys(gatewayEnv(s.name)).filter((v) => v.startsWith('PORTCULLIS_'))) {
      assert.ok(sources.some((text) => text.includes(`'${variable}'`) || text.includes(`.${variable}`)) || config.includes(`env: ${variable}`), `${s.name}: nothing reads ${variable}`);
    }
  }
});
