/**
 * `portcullis policy whatif DRAFT`: re-decides the recorded commands under a
 * draft policy and shows which would be decided differently. `--fail-on`
 * makes it a gate for CI pipelines that review policy changes.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { busConfigFromEnv, createBus, describeError, silentLogger } from '@portcullis/kit';
import {
  failingTransitions,
  formatPolicyError,
  formatWhatIfReport,
  parseTransitionList,
  policyStateFromDocument,
  runWhatIf,
  type WhatIfFilter,
  type WhatIfRun,
} from '@portcullis/policy-decision';
import { commandGroup } from '../groups.ts';

export interface WhatIfOptions {
  since: string;
  until?: string;
  identity?: string;
  resource?: string;
  protocol?: string;
  json?: boolean;
  failOn?: string;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "30d", "12h", "90m", or an ISO date/time; relative to now. */
export function parseTime(text: string, now: number): string | undefined {
  const trimmed = text.trim();
  const unit = UNITS[trimmed.slice(-1)];
  const amount = Number(trimmed.slice(0, -1));
  if (unit !== undefined && trimmed.length > 1 && Number.isFinite(amount) && amount >= 0) return new Date(now - amount * unit).toISOString();
  const parsed = Date.parse(trimmed);
  return Number.isNaN(parsed) ? undefined : new Date(parsed).toISOString();
}

export function whatIfFilter(opts: WhatIfOptions, now = Date.now()): { ok: true; filter: WhatIfFilter } | { ok: false; error: string } {
  const since = parseTime(opts.since, now);
  if (since === undefined) return { ok: false, error: `--since "${opts.since}": write a duration such as 30d, 12h, 90m, or an ISO date` };
  const until = opts.until === undefined ? undefined : parseTime(opts.until, now);
  if (opts.until !== undefined && until === undefined) return { ok: false, error: `--until "${opts.until}": write a duration such as 1d or an ISO date` };
  if (opts.protocol !== undefined && !['postgres', 'ssh', 'http'].includes(opts.protocol)) return { ok: false, error: '--protocol must be postgres, ssh or http' };
  return {
    ok: true,
    filter: {
      since,
      ...(until ? { until } : {}),
      ...(opts.identity ? { identity: opts.identity } : {}),
      ...(opts.resource ? { resource: opts.resource } : {}),
      ...(opts.protocol ? { protocol: opts.protocol as WhatIfFilter['protocol'] } : {}),
    },
  };
}

/** Loads the draft and runs what-if against the log; exit code 2 for bad input, 1 when the bus fails. */
export async function whatIfFromFile(file: string, filter: WhatIfFilter, progress: boolean): Promise<{ ok: true; run: WhatIfRun } | { ok: false; exitCode: number }> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    console.error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? describeError(err)}`);
    return { ok: false, exitCode: 2 };
  }
  const loaded = policyStateFromDocument(text, file);
  if (!loaded.ok) {
    console.error(`${file}: ${loaded.errors.length} error(s):`);
    for (const e of loaded.errors) console.error(`  ${formatPolicyError(e)}`);
    return { ok: false, exitCode: 2 };
  }
  const bus = createBus({ config: busConfigFromEnv('portcullis-cli'), logger: silentLogger() });
  let lastShown = 0;
  try {
    const run = await runWhatIf({
      bus,
      draft: loaded.state,
      filter,
      ...(progress
        ? {
            onProgress: (read: number, total: number) => {
              if (Date.now() - lastShown < 1000) return;
              lastShown = Date.now();
              process.stderr.write(`\rread ${read.toLocaleString('en-US')} of ${total.toLocaleString('en-US')} records…`);
            },
          }
        : {}),
    });
    if (lastShown) process.stderr.write('\n');
    return { ok: true, run };
  } catch (err) {
    console.error(`what-if failed: ${describeError(err)}`);
    return { ok: false, exitCode: 1 };
  } finally {
    await bus.disconnect();
  }
}

export function heading(file: string, run: WhatIfRun): string {
  return `what-if: ${file} against the recorded commands from the log, ${run.since ?? 'the beginning'} to ${run.until ?? 'now'}`;
}

export function registerPolicyWhatIfCommand(program: Command): void {
  commandGroup(program, 'policy', 'evaluate, test and publish access policies')
    .command('whatif')
    .description('re-decide recorded commands under a draft policy and show what it would decide differently (needs Kafka)')
    .argument('<draft>', 'draft policy document (YAML)')
    .option('--since <when>', 'from this time: a duration back from now (30d, 12h, 90m) or an ISO date', '30d')
    .option('--until <when>', 'up to this time (same forms)')
    .option('--identity <subject>', 'only commands of this identity')
    .option('--resource <name>', 'only commands on this resource')
    .option('--protocol <protocol>', 'only postgres, ssh or http commands')
    .option('--json', 'print the report as JSON')
    .option('--fail-on <transitions>', 'exit 1 when one of these occurs, e.g. allow->block,mask->allow (* matches any effect)')
    .action(async (file: string, opts: WhatIfOptions) => {
      const filter = whatIfFilter(opts);
      if (!filter.ok) {
        console.error(`error: ${filter.error}`);
        process.exitCode = 2;
        return;
      }
      const failOn = opts.failOn === undefined ? undefined : parseTransitionList(opts.failOn);
      if (failOn && !failOn.ok) {
        console.error(`error: --fail-on: ${failOn.error}`);
        process.exitCode = 2;
        return;
      }
      const result = await whatIfFromFile(file, filter.filter, !opts.json && process.stderr.isTTY === true);
      if (!result.ok) {
        process.exitCode = result.exitCode;
        return;
      }
      const { run } = result;
      if (opts.json) console.log(JSON.stringify(run, null, 2));
      else console.log(formatWhatIfReport(run.report, heading(file, run)));
      if (failOn?.ok) {
        const failing = failingTransitions(run.report, failOn.patterns);
        if (failing.length) {
          console.error(`what-if: ${failing.map((t) => `${t.transition} (${t.count})`).join(', ')} occurred; failing as --fail-on asks`);
          process.exitCode = 1;
        }
      }
    });
}
