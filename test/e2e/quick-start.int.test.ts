/**
 * The README's quick start, as a newcomer runs it: `npm start`, then the psql
 * lines it prints (a token from `portcullis dev token`), and what psql shows.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { eventually } from '@portcullis/kit';

const root = fileURLToPath(new URL('../..', import.meta.url));
let start: ChildProcess | undefined;
after(async () => {
  if (!start || start.exitCode !== null) return;
  // npm start runs in a process group of its own: Ctrl-C reaches it and every service it started.
  const exited = new Promise((r) => start!.once('exit', r));
  process.kill(-start.pid!, 'SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  try {
    process.kill(-start.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
});

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((resolve) => {
    execFile(cmd, args, { cwd: root, env: { ...process.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });

test('npm start runs the demo: the agent sees customers masked and cannot drop the table', async () => {
  let output = '';
  start = spawn('npm', ['start'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  start.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  start.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await eventually('npm start to say the gateway is running', () => output.includes('Portcullis is running') || (start!.exitCode !== null ? assert.fail(output) : undefined), 180_000);
  for (const line of ['policy-decision    running', 'proxy-postgres     running', 'approvals          running', 'projections        running']) {
    assert.ok(output.includes(line), `npm start reports ${line.trim()}:\n${output}`);
  }

  const token = await run('npx', ['portcullis', 'dev', 'token', 'llm-agent']);
  assert.equal(token.code, 0, token.stderr);
  const conninfo = 'host=127.0.0.1 port=6432 dbname=demo user=llm-agent sslmode=require';
  const env = { PGPASSWORD: token.stdout.trim() };
  const select = await run('psql', ['-X', conninfo, '-c', 'SELECT name, email, card_number FROM customers'], env);
  assert.equal(select.code, 0, select.stderr);
  assert.match(select.stdout, /Jane Roe\s+\| j\*\*\*@example\.com/);
  assert.ok(!select.stdout.includes('jane.roe@example.com') && !select.stdout.includes('4111'), select.stdout);
  const drop = await run('psql', ['-X', conninfo, '-c', 'DROP TABLE customers'], env);
  assert.equal(drop.code, 1);
  assert.match(drop.stderr, /ERROR: {2}Portcullis blocked this statement: rule automation-no-destructive/);
});
