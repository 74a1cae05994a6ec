/**
 * Entry point of the `portcullis` CLI. It only wires the command groups;
 * each group lives in its own file under commands/.
 */
import { Command } from 'commander';
import type { CommandRegistrar } from './groups.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerPolicyPublishCommand } from './commands/policy-publish.ts';
import { registerPolicyWhatIfCommand } from './commands/policy-whatif.ts';
import { registerProjectionCommands } from './commands/projections.ts';
import { registerReplayCommand } from './commands/replay.ts';
import { registerIdentityCommands } from './commands/identities.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerApprovalsCommands } from './commands/approvals.ts';
import { registerDevCommands } from './commands/dev.ts';
import { registerAccessCommands } from './commands/access.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerRevocationCommands } from './commands/revocations.ts';

const registrars: CommandRegistrar[] = [
  registerPolicyCommands,
  registerPolicyPublishCommand,
  registerPolicyWhatIfCommand,
  registerProjectionCommands,
  registerReplayCommand,
  registerIdentityCommands,
  registerAuditCommands,
  registerApprovalsCommands,
  registerDevCommands,
  registerAccessCommands,
  registerConfigCommands,
  registerRevocationCommands,
];

export function buildProgram(): Command {
  const program = new Command('portcullis')
    .description('Portcullis: policy-enforcing gateway for infrastructure access')
    .showHelpAfterError()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));
  for (const register of registrars) register(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
