/**
 * The gateway for the CLI's tests, as it runs for real: its own OpenID
 * provider (short-lived access tokens, so the tests see them expire and be
 * refreshed), Kafka, the PDP and the example policy — with its automation
 * rules extended to people, so a person logged in with `portcullis login`
 * gets the masked rows, the allowed and blocked commands of the demo.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { createTestBus, silentLogger, type Bus } from '@portcullis/kit';
import { startOidcProvider, type OidcProviderHandle } from '@portcullis/infra';
import { selfSignedCertificate } from '@portcullis/infra/targets';
import { publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';

export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The example policy, its `kind: service` rules widened to people too, and people may copy files with scp. */
export async function policyForPeople(): Promise<string> {
  const file = fileURLToPath(new URL('../../../../policies/examples/automation-access.yaml', import.meta.url));
  const doc = parse(await readFile(file, 'utf8')) as { rules: Record<string, unknown>[] };
  for (const rule of doc.rules as { match: { identity?: { kind?: string | string[] } } }[]) {
    if (rule.match.identity?.kind === 'service') rule.match.identity.kind = ['service', 'human'];
  }
  doc.rules.push({ id: 'people-copy', effect: 'allow', reason: 'people may copy files', match: { identity: { kind: 'human' }, protocol: 'ssh', shell: { programs: ['scp'] } } });
  return stringify(doc);
}

export interface TestStack {
  provider: OidcProviderHandle;
  bus: Bus;
  pdp: PolicyDecisionService;
  /** Self-signed certificate for 127.0.0.1 the proxies serve; the CLI trusts it as the gateway CA. */
  tls: { certFile: string; keyFile: string };
  dir: string;
  close(): Promise<void>;
}

export async function startTestStack(name: string, knownResources: string[], accessTokenTtlSeconds: number): Promise<TestStack> {
  const dir = await mkdtemp(join(tmpdir(), `portcullis-cli-${name}-`));
  const provider = await startOidcProvider({ port: await freeLoopbackPort(), dataDir: join(dir, 'oidc'), accessTokenTtlSeconds });
  const bus = createTestBus(`cli-${name}`, { partitions: 1 });
  await bus.connect();
  assert.ok((await publishPolicy({ bus, yamlText: await policyForPeople(), fileName: 'people-access.yaml' })).ok);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp`, knownResources });
  const cert = selfSignedCertificate(join(dir, 'tls'));
  return {
    provider, bus, pdp, dir,
    tls: { certFile: cert.certFile, keyFile: cert.keyFile },
    async close() {
      await pdp.stop();
      await bus.disconnect();
      await provider.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
