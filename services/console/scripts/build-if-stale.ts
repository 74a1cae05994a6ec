/**
 * Builds the console's single-page app when web/dist is missing or older than
 * anything it is built from (the app's sources, and the API schemas its client
 * types are generated from). `npm start` runs this, so a fresh clone gets a
 * console and an unchanged one starts without waiting for Vite.
 * Prints "built" or "current"; exits non-zero when the build fails.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const consoleDir = fileURLToPath(new URL('..', import.meta.url));
const services = join(consoleDir, '..');
const inputs = [
  join(consoleDir, 'web', 'src'),
  join(consoleDir, 'web', 'public'),
  join(consoleDir, 'web', 'index.html'),
  join(consoleDir, 'web', 'vite.config.ts'),
  join(consoleDir, 'src', 'server'),
  join(consoleDir, 'package.json'),
  join(services, 'approvals', 'src'),
  join(services, 'audit-projection', 'src', 'api'),
  join(services, 'replay-projection', 'src'),
];
const generated = join(consoleDir, 'web', 'src', 'generated');

function newest(path: string): number {
  if (!existsSync(path) || path === generated) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const output = join(consoleDir, 'web', 'dist', 'index.html');
const builtAt = existsSync(output) ? statSync(output).mtimeMs : 0;
if (builtAt > Math.max(...inputs.map(newest))) {
  console.log('current');
} else {
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: consoleDir, stdio: ['ignore', 'ignore', 'inherit'] });
  if (build.status !== 0) process.exit(build.status ?? 1);
  console.log('built');
}
