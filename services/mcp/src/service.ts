import type { Bus, ClosableCommandGate, IdentityVerifier, Logger } from '@portcullis/kit';
import type { connectCommandGate, EdgeGate } from '@portcullis/policy-decision';
import type { McpServiceConfig } from './config.ts';
import { createMcpService } from './app.ts';
import { PendingApprovals } from './pending-approvals.ts';

export interface RunningMcpService {
  /** Base URL; the Portcullis MCP server is at `${url}/mcp`, the gateway at `${url}/mcp/r/<upstream>`. */
  url: string;
  /** The command gate the tools judge through (readiness asks it whether it can decide). */
  gate: ClosableCommandGate;
  stop(): Promise<void>;
}

/** Connects the gate (edge by default, as the proxies), then serves. */
export async function startMcpService(options: {
  config: McpServiceConfig;
  bus: Bus;
  logger: Logger;
  verifier: IdentityVerifier;
  issuer: string;
  connectGate: typeof connectCommandGate;
  port: number;
  host: string;
  env?: NodeJS.ProcessEnv;
}): Promise<RunningMcpService> {
  const { config, bus, logger } = options;
  const names = [...config.postgres, ...config.ssh, ...config.http, ...config.upstreams].map((r) => r.name);
  const { gate, sink } = await options.connectGate({
    bus,
    logger,
    decision: config.settings.decision,
    service: 'mcp',
    verdictTimeoutMs: config.settings.verdictTimeoutMs,
    policyStalenessMs: config.settings.policyStalenessMs,
    knownResources: names,
  });
  // At the edge the gate holds the policy in force: tools/list and describe_resource use it.
  const edge = 'policyState' in gate ? (gate as EdgeGate) : undefined;
  const app = createMcpService({
    config,
    gate,
    sink,
    logger,
    pending: new PendingApprovals(),
    verifier: options.verifier,
    issuer: options.issuer,
    ...(edge ? { policyState: () => edge.policyState() } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const url = await app.listen(options.port, options.host);
  return {
    url,
    gate,
    async stop() {
      await app.close().catch(() => undefined);
      await gate.close().catch(() => undefined);
    },
  };
}
