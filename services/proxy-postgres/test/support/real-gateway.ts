/**
 * The gateway as it runs for real, for tests that drive real clients: Kafka,
 * the PDP with the shipped example policy (policies/examples), tokens from
 * the local OpenID provider, and a target schema with the demo customers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, createTestBus, silentLogger, type Bus } from '@portcullis/kit';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { parseProxyConfig } from '../../src/config.ts';
import { startPostgresGateway, type PostgresGateway } from '../../src/gateway.ts';
import { createTestTarget, type TestTarget } from './target-database.ts';

export const ISSUER = 'http://127.0.0.1:9400';
export const EXAMPLE_POLICY = readFileSync(fileURLToPath(new URL('../../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');

export interface RealGateway {
  target: TestTarget;
  gateway: PostgresGateway;
  port: number;
  resourceName: string;
  close(): Promise<void>;
}

/** Customers as the demo has them, with non-ASCII names for the encoding tests. */
export const CUSTOMERS = [
  [1, 'Jane Roe', 'jane.roe@example.com', '4111 1111 1111 1111'],
  [2, 'Renée Müller', 'renee.mueller@example.com', '5500 0000 0000 0004'],
] as const;

export async function startRealGateway(prefix: string, tags: string[] = ['staging']): Promise<RealGateway> {
  const resourceName = `${prefix}-db`;
  const target = await createTestTarget(prefix, resourceName);
  target.resource.tags = tags;
  const t = target.schema;
  await target.admin(`CREATE TABLE ${t}.customers (id int primary key, name text, email text, card_number text)`);
  for (const row of CUSTOMERS) await target.admin(`INSERT INTO ${t}.customers VALUES ($1, $2, $3, $4)`, [...row]);
  await target.admin(`ALTER TABLE ${t}.customers OWNER TO ${target.role}`);
  const bus: Bus = createTestBus(`pg-${prefix}`, { partitions: 1 });
  await bus.connect();
  assert.ok((await publishPolicy({ bus, yamlText: EXAMPLE_POLICY, fileName: 'automation-access.yaml' })).ok);
  const pdp: PolicyDecisionService = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp`, knownResources: [resourceName] });
  const config = parseProxyConfig({ resources: [target.resource], listen: { host: '127.0.0.1', port: 0 }, verdictTimeoutMs: 15_000 });
  const gateway = await startPostgresGateway({ config, bus, logger: process.env.PCL_TEST_LOG ? createLogger('proxy') : silentLogger(), issuer: ISSUER, port: 0 });
  return {
    target,
    gateway,
    port: gateway.port,
    resourceName,
    async close() {
      await gateway.close();
      await pdp.stop();
      await bus.disconnect();
      await target.drop();
    },
  };
}
