#!/usr/bin/env node
// Runs the test tiers named on the command line (unit, int) with node's test
// runner, in one invocation so the output ends with one summary.
//   node test/run.mjs unit int [dir]
// Tiers are told apart by file suffix: *.unit.test.ts are pure; *.int.test.ts
// need the real infrastructure, which is brought up first when it is not running.
import { readdirSync, statSync } from 'node:fs';
import { join, resolve, dirname, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const tiers = args.filter((a) => a === 'unit' || a === 'int');
const dirArg = args.find((a) => a !== 'unit' && a !== 'int');
const searchRoots = dirArg ? [resolve(dirArg)] : ['schemas', 'services', 'infra', 'test'].map((d) => join(root, d));
const skip = new Set(['node_modules', '.cache', '.data', 'dist', '.turbo', '.git']);

function find(dir, out) {
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) find(path, out);
    else if (tiers.some((t) => name.endsWith(`.${t}.test.ts`))) out.push(path);
  }
  return out;
}

const files = searchRoots.flatMap((d) => find(d, [])).sort();
if (files.length === 0) {
  console.error(`no ${tiers.join('/')} test files under ${searchRoots.map((d) => relative(root, d) || '.').join(', ')}`);
  process.exit(1);
}

if (tiers.includes('int') && files.some((f) => f.endsWith('.int.test.ts'))) {
  const up = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'infra/src/cli.ts'), 'up'], { stdio: 'inherit', cwd: root });
  if (up.status !== 0) process.exit(up.status ?? 1);
}

const concurrency = process.env.PORTCULLIS_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--import', join(root, 'test/blocking-report-pipe.mjs'), '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, PORTCULLIS_ROOT: root } },
);
process.exit(result.status ?? 1);
