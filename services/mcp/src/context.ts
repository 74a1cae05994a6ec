import type { CommandGate, Logger, SessionEventSink } from '@portcullis/kit';
import type { PolicyState } from '@portcullis/policy-decision';
import type { McpServiceConfig } from './config.ts';
import type { PendingApprovals } from './pending-approvals.ts';

/** What every tool handler shares. */
export interface ServiceContext {
  config: McpServiceConfig;
  gate: CommandGate;
  sink: SessionEventSink;
  logger: Logger;
  pending: PendingApprovals;
  /** The policy in force, when the gate decides at the edge (tools/list filtering, describe_resource); undefined in remote mode. */
  policyState?: () => PolicyState;
  /** Where credential env references are read (default process.env). */
  env?: NodeJS.ProcessEnv;
}
