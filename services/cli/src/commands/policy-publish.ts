import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { busConfigFromEnv, createBus, describeError, silentLogger } from '@portcullis/kit';
import { formatPolicyError, publishPolicy } from '@portcullis/policy-decision';
import { commandGroup } from '../groups.ts';

/**
 * `portcullis policy publish FILE`: validates the document and publishes it
 * as the next version of its policy set on portcullis.policies. The running
 * PDPs follow it without a restart. An invalid document is refused with its
 * errors (file, line, field) and nothing is published.
 */
export function registerPolicyPublishCommand(program: Command): void {
  commandGroup(program, 'policy', 'evaluate, test and publish access policies')
    .command('publish')
    .description('validate a policy document and publish it as the next version (needs Kafka and the schema registry)')
    .argument('<file>', 'policy document (YAML)')
    .option('--policy-set <id>', 'policy set to publish into', 'default')
    .option('--published-by <who>', 'recorded with the publication', process.env.USER)
    .action(async (file: string, options: { policySet: string; publishedBy?: string }) => {
      let yamlText: string;
      try {
        yamlText = readFileSync(file, 'utf8');
      } catch (err) {
        console.error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
        process.exitCode = 2;
        return;
      }
      const bus = createBus({ config: busConfigFromEnv('portcullis-cli'), logger: silentLogger() });
      try {
        const result = await publishPolicy({
          bus,
          yamlText,
          fileName: basename(file),
          policySetId: options.policySet,
          ...(options.publishedBy ? { publishedBy: options.publishedBy } : {}),
        });
        if (!result.ok) {
          console.error(`${file}: not published, ${result.errors.length} error(s):`);
          for (const e of result.errors) console.error(`  ${formatPolicyError(e)}`);
          process.exitCode = 1;
          return;
        }
        console.log(`published ${file} as version ${result.version} of policy set "${options.policySet}"`);
      } catch (err) {
        console.error(`publishing failed: ${describeError(err)}`);
        process.exitCode = 1;
      } finally {
        await bus.disconnect();
      }
    });
}
