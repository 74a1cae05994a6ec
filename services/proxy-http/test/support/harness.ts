import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { CommandRequested } from '@portcullis/schemas';
import { createIdentityVerifier, createTestBus, silentLogger, startAccessGuard, type AccessGuard, type Bus } from '@portcullis/kit';
import { connectCommandGate, publishPolicy, startPolicyDecisionService } from '@portcullis/policy-decision';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';
import { selfSignedCertificate } from '@portcullis/infra/targets';
import { createHttpProxy } from '../../src/app.ts';
import { parseHttpProxyConfig } from '../../src/config.ts';
import type { CommandGate } from '../../src/ports.ts';
import { CollectingSink } from './collecting-sink.ts';

export const ISSUER = 'http://127.0.0.1:9400';

export const TEST_POLICY = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: api-read
    effect: allow
    reason: reads are fine
    match: { resource: { names: [api] }, http: { methods: [GET, HEAD] } }
  - id: api-echo
    effect: allow
    reason: echo is harmless
    match: { resource: { names: [api] }, http: { methods: [POST], paths: [/echo] } }
  - id: no-admin
    effect: block
    reason: nobody calls the admin API through the gateway
    match: { http: { paths: ["/admin/**"] } }
  - id: payments-held
    effect: hold
    reason: payments need a second pair of eyes
    match: { resource: { names: [api, api-wait] }, http: { methods: [POST], paths: [/payments] } }
    approval: { approverGroups: [approvers] }
  - id: wait-read
    effect: allow
    reason: reads are fine
    match: { resource: { names: [api-wait] }, http: { methods: [GET] } }
  - id: pii-masked
    effect: mask
    reason: customer data is masked for automation
    match: { identity: { kind: service }, http: { paths: ["/customers", "/customers/**", /events] } }
    mask: { fields: [email, billing.card_number], detectors: [email, card, ssn, phone] }
  - id: k8s-use
    effect: allow
    reason: the team may use the cluster
    match: { resource: { names: [k8s] }, http: { methods: [GET, POST, PATCH, PUT] } }
  - id: k8s-exec
    effect: allow
    reason: the team may exec into pods
    match: { resource: { names: [k8s] }, http: { classes: [exec], kubernetes: { resources: [pods/exec] } } }
  - id: k8s-impersonate-developers
    effect: allow
    reason: reads as a developer are fine
    match: { resource: { names: [k8s] }, http: { methods: [GET], classes: [impersonate], headers: { impersonate-user: ["dev-*"] } } }
  - id: k8s-no-delete
    effect: block
    reason: deleting in the cluster goes through the release pipeline
    match: { resource: { names: [k8s] }, http: { kubernetes: { verbs: [delete, deletecollection] } } }
`;

export interface Harness {
  bus: Bus;
  proxyUrl: string;
  /** The same proxy over HTTPS (self-signed, generated now), for kubectl. */
  tlsProxyUrl: string;
  sink: CollectingSink;
  commands: CommandRequested[];
  gate: CommandGate;
  /** The approvals service and its API. */
  approvals: ApprovalsService;
  /** Revocations, token lifetime, presence and drain, as the proxy's main.ts wires them. */
  guard: AccessGuard;
  close(): Promise<void>;
}

/** The real bus, the real PDP in-process and the proxy on 127.0.0.1, with the given upstreams; `policy`: the document to publish (TEST_POLICY unless told). */
export async function startHarness(upstreams: { api: string; k8s: string }, env: NodeJS.ProcessEnv, options: { policy?: string } = {}): Promise<Harness> {
  const bus = createTestBus('proxy-http', { partitions: 1 });
  await bus.connect();
  const published = await publishPolicy({ bus, yamlText: options.policy ?? TEST_POLICY, fileName: 'test-policy.yaml' });
  if (!published.ok) throw new Error(`policy refused: ${JSON.stringify(published)}`);
  const pdp = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  // The proxy decides at the edge (the default), as in production.
  const { gate: realGate, sink: busSink } = await connectCommandGate({ bus, logger: silentLogger(), decision: 'edge', service: 'proxy-http-test', verdictTimeoutMs: 20_000, policyStalenessMs: 10_000 });
  const commands: CommandRequested[] = [];
  const gate: CommandGate = {
    judge: (c, o) => (commands.push(c), realGate.judge(c, o)),
    awaitFinal: (id, o) => realGate.awaitFinal(id, o),
    cancelHold: (hold) => realGate.cancelHold!(hold),
  };
  const verifierForApprovals = createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] });
  const approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier: verifierForApprovals, port: 0 });
  const sink = new CollectingSink(busSink.decision);
  const config = parseHttpProxyConfig({
    http: { maxMaskedBodyBytes: 1024 * 1024, maxRequestBodyBytes: 64 * 1024, verdictTimeoutMs: 20_000 },
    resources: [
      { name: 'orders-db', protocol: 'postgres', target: { host: 'x' } },
      { name: 'api', protocol: 'http', baseUrl: upstreams.api, credential: { env: 'TEST_API_TOKEN' }, inject: 'bearer', hold: { mode: 'respond', timeoutMs: 5000 } },
      { name: 'api-wait', protocol: 'http', baseUrl: upstreams.api, credential: { env: 'TEST_API_TOKEN' }, inject: { header: 'X-Api-Key' }, hold: { mode: 'wait', timeoutMs: 20_000 } },
      { name: 'k8s', protocol: 'kubernetes', server: upstreams.k8s, token: { env: 'TEST_K8S_TOKEN' } },
    ],
  });
  const guard = await startAccessGuard({ bus, logger: silentLogger(), service: 'proxy-http-test', heartbeatMs: 1000 });
  const verifier = guard.guardVerifier(createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] }));
  const guardedSink = guard.guardSink(sink);
  const app = createHttpProxy({ config, gate, sink: guardedSink, verifier, logger: silentLogger(), env, guard });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const tlsApp = createHttpProxy({ config, gate, sink: guardedSink, verifier, logger: silentLogger(), env, guard, tls: selfSignedCertificate(mkdtempSync(join(tmpdir(), 'pcl-tls-')), 1) });
  await tlsApp.listen({ port: 0, host: '127.0.0.1' });
  const tlsPort = (tlsApp.server.address() as AddressInfo).port;
  return {
    bus, sink, commands, gate, approvals, guard, proxyUrl: `http://127.0.0.1:${port}`, tlsProxyUrl: `https://127.0.0.1:${tlsPort}`,
    async close() {
      await app.close().catch(() => undefined);
      await tlsApp.close().catch(() => undefined);
      await guard.stop().catch(() => undefined);
      await approvals.stop().catch(() => undefined);
      await realGate.close().catch(() => undefined);
      await pdp.stop().catch(() => undefined);
      await bus.disconnect().catch(() => undefined);
    },
  };
}
