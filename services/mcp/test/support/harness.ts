/**
 * The real stack for the MCP tests: a test namespace on the shared Kafka, the
 * example policy published, the PDP and the approvals service in-process,
 * the MCP service deciding at the edge as in production, and tokens from the
 * local OpenID provider.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createIdentityVerifier, createTestBus, silentLogger, type Bus } from '@portcullis/kit';
import { connectCommandGate, publishPolicy, startPolicyDecisionService, type PolicyDecisionService } from '@portcullis/policy-decision';
import { startApprovalsService, type ApprovalsService } from '@portcullis/approvals';
import { parseMcpServiceConfig } from '../../src/config.ts';
import { startMcpService, type RunningMcpService } from '../../src/service.ts';

export const ISSUER = 'http://127.0.0.1:9400';
export const EXAMPLE_POLICY = readFileSync(fileURLToPath(new URL('../../../../policies/examples/automation-access.yaml', import.meta.url)), 'utf8');

export interface Harness {
  bus: Bus;
  mcp: RunningMcpService;
  approvals: ApprovalsService;
  /** An MCP client from the SDK, connected with `token` to `path` (/mcp or /mcp/r/<upstream>). */
  connect(token: string, path?: string): Promise<{ client: Client; transport: StreamableHTTPClientTransport }>;
  close(): Promise<void>;
}

export async function startHarness(name: string, config: Record<string, unknown>, options: { env?: NodeJS.ProcessEnv; clockToleranceSeconds?: number } = {}): Promise<Harness> {
  const bus = createTestBus(name, { partitions: 1 });
  await bus.connect();
  const published = await publishPolicy({ bus, yamlText: EXAMPLE_POLICY, fileName: 'automation-access.yaml' });
  if (!published.ok) throw new Error(`policy refused: ${JSON.stringify(published)}`);
  const pdp: PolicyDecisionService = await startPolicyDecisionService({ bus, logger: silentLogger(), transactionalId: `${bus.names.namespace}-pdp` });
  const verifier = createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }], ...(options.clockToleranceSeconds !== undefined ? { clockToleranceSeconds: options.clockToleranceSeconds } : {}) });
  const approvals = await startApprovalsService({ bus, logger: silentLogger(), verifier: createIdentityVerifier({ issuers: [{ issuer: ISSUER, audience: 'portcullis' }] }), port: 0 });
  const mcp = await startMcpService({
    config: parseMcpServiceConfig({ mcp: { verdictTimeoutMs: 20_000, maxResultBytes: 4096, ...(config.mcp as object | undefined) }, resources: config.resources }),
    bus,
    logger: silentLogger(),
    verifier,
    issuer: ISSUER,
    connectGate: connectCommandGate,
    port: 0,
    host: '127.0.0.1',
    ...(options.env ? { env: options.env } : {}),
  });
  const clients: Client[] = [];
  return {
    bus,
    mcp,
    approvals,
    async connect(token, path = '/mcp') {
      const transport = new StreamableHTTPClientTransport(new URL(`${mcp.url}${path}`), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
      const client = new Client({ name: 'portcullis-test-agent', version: '1.0.0' });
      await client.connect(transport);
      clients.push(client);
      return { client, transport };
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await mcp.stop().catch(() => undefined);
      await approvals.stop().catch(() => undefined);
      await pdp.stop().catch(() => undefined);
      await bus.disconnect().catch(() => undefined);
    },
  };
}

/** The text of a tool result. */
export function textOf(result: unknown): string {
  const content = (result as { content?: { type: string; text?: string }[] }).content ?? [];
  return content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

/** Calls the approvals API as a person would (grant / deny / read). */
export async function approvalsApi(approvals: ApprovalsService, path: string, token: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${approvals.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}
