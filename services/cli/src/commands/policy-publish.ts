import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { busConfigFromEnv, createBus, describeError, silentLogger } from '@portcullis/kit';
import { formatPolicyError, formatWhatIfReport, policyStateFromDocument, publishPolicy } from '@portcullis/policy-decision';
import { commandGroup } from '../groups.ts';
import { heading, whatIfFilter, whatIfFromFile } from './policy-whatif.ts';

async function confirmed(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * `portcullis policy publish FILE`: validates the document and publishes it
 * as the next version of its policy set on portcullis.policies. The running
 * PDPs follow it without a restart. An invalid document is refused with its
 * errors (file, line, field) and nothing is published.
 *
 * Before publishing it shows what the document would have decided
 * differently over the last 7 days (what-if against the log) and asks on a
 * terminal; scripts pass --yes.
 */
export function registerPolicyPublishCommand(program: Command): void {
  commandGroup(program, 'policy', 'evaluate, test and publish access policies')
    .command('publish')
    .description('validate a policy document and publish it as the next version (needs Kafka and the schema registry)')
    .argument('<file>', 'policy document (YAML)')
    .option('--policy-set <id>', 'policy set to publish into', 'default')
    .option('--published-by <who>', 'recorded with the publication', process.env.USER)
    .option('-y, --yes', 'publish without asking (scripts); the what-if summary is still printed')
    .option('--no-whatif', 'skip the what-if summary of the last 7 days')
    .action(async (file: string, options: { policySet: string; publishedBy?: string; yes?: boolean; whatif: boolean }) => {
      let yamlText: string;
      try {
        yamlText = readFileSync(file, 'utf8');
      } catch (err) {
        console.error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
        process.exitCode = 2;
        return;
      }
      const valid = policyStateFromDocument(yamlText, basename(file));
      if (!valid.ok) {
        console.error(`${file}: not published, ${valid.errors.length} error(s):`);
        for (const e of valid.errors) console.error(`  ${formatPolicyError(e)}`);
        process.exitCode = 1;
        return;
      }
      if (options.whatif) {
        const filter = whatIfFilter({ since: '7d' });
        if (!filter.ok) throw new Error(filter.error);
        const whatIf = await whatIfFromFile(file, filter.filter, false);
        if (!whatIf.ok) {
          process.exitCode = whatIf.exitCode;
          return;
        }
        console.log(formatWhatIfReport(whatIf.run.report, heading(file, whatIf.run)));
        console.log();
      }
      if (!options.yes) {
        if (!process.stdin.isTTY) {
          console.error('not published: confirm on a terminal, or pass --yes in scripts');
          process.exitCode = 1;
          return;
        }
        if (!(await confirmed(`publish ${file} to policy set "${options.policySet}"? [y/N] `))) {
          console.error('not published');
          process.exitCode = 1;
          return;
        }
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
