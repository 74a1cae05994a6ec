/**
 * The README's quick start, as a newcomer runs it: `npm start`, then the lines
 * it prints, pasted into a shell as printed (psql, ssh, curl, kubectl with
 * tokens from `portcullis dev token`), and what those clients show.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { eventually } from '@portcullis/kit';

const root = fileURLToPath(new URL('../..', import.meta.url));
let start: ChildProcess | undefined;
after(async () => {
  if (!start || start.exitCode !== null) return;
  // npm start runs in a process group of its own: Ctrl-C reaches it and every process it started.
  const exited = new Promise((r) => start!.once('exit', r));
  process.kill(-start.pid!, 'SIGINT');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  try {
    process.kill(-start.pid!, 'SIGKILL');
  } catch {
    /* already gone */
  }
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/** A printed line, pasted into bash in the repository (where npm start ran), with what earlier `export` lines set. */
const shell = (line: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> =>
  new Promise((resolve) => {
    const child = spawn('bash', ['-c', line], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });

/** What an `export …` line leaves in the shell: the variables it sets, as the next lines see them. */
async function exported(line: string): Promise<NodeJS.ProcessEnv> {
  const ran = await shell(`${line}\nenv -0`);
  assert.equal(ran.code, 0, `${line}\n${ran.stderr}`);
  const set: NodeJS.ProcessEnv = {};
  for (const entry of ran.stdout.split('\0')) {
    const at = entry.indexOf('=');
    const [name, value] = [entry.slice(0, at), entry.slice(at + 1)];
    if (at > 0 && !['_', 'SHLVL', 'PWD', 'OLDPWD'].includes(name) && process.env[name] !== value) set[name] = value;
  }
  return set;
}

/** The indented command lines of the "try it" text, with `\` continuations joined (comments stay: bash drops them). */
function printedCommands(text: string): string[] {
  const commands: string[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (!line.startsWith('  ') || line.trim() === '') continue;
    const trimmed = line.trim();
    if (trimmed.endsWith('\\')) pending += `${trimmed.slice(0, -1)} `;
    else {
      commands.push(pending + trimmed);
      pending = '';
    }
  }
  return commands;
}

const printed = (commands: string[], what: string, has: (c: string) => boolean): string => {
  const found = commands.filter(has);
  assert.equal(found.length, 1, `npm start prints exactly one line that ${what}:\n${commands.join('\n')}`);
  return found[0]!;
};

interface SessionLine {
  startedAt: string;
  sessionId: string;
  subject: string;
  resource: string;
  blockedOrHeld: number;
}

/** `portcullis audit sessions` prints one session a line, fields two spaces apart. */
const sessionLines = (stdout: string): SessionLine[] =>
  stdout.split('\n').filter((l) => l.includes('blocked/held=')).map((l) => {
    const [startedAt, sessionId, subject, resource, , counts] = l.split('  ');
    const blocked = counts!.split(' ').find((c) => c.startsWith('blocked/held='))!;
    return { startedAt: startedAt!, sessionId: sessionId!, subject: subject!, resource: resource!, blockedOrHeld: Number(blocked.slice('blocked/held='.length)) };
  });

test('npm start runs the demo: the printed psql, ssh, curl and kubectl lines show masking, blocks and the SSH replay', async () => {
  const startedAt = new Date().toISOString();
  let output = '';
  start = spawn('npm', ['start'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  start.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  start.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await eventually('npm start to say the gateway is running', () => output.includes('Portcullis is running') || (start!.exitCode !== null ? assert.fail(output) : undefined), 240_000);
  for (const name of ['demo-sshd', 'policy-decision', 'demo-http-targets', 'proxy-postgres', 'proxy-ssh', 'proxy-http', 'approvals', 'projections', 'mcp']) {
    assert.ok(output.includes(`${name.padEnd(18)} running`), `npm start reports ${name} running:\n${output}`);
  }
  const commands = printedCommands(output.slice(output.indexOf('Portcullis is running')));

  // ------------------------------------------------------------ PostgreSQL through `portcullis connect` with the agent's token
  const tokenEnv = await exported(printed(commands, 'sets PORTCULLIS_TOKEN for the agent', (c) => c.startsWith('export PORTCULLIS_TOKEN=')));
  assert.ok(tokenEnv.PORTCULLIS_TOKEN && tokenEnv.PORTCULLIS_GATEWAY_CA, JSON.stringify(Object.keys(tokenEnv)));
  const select = await shell(printed(commands, 'selects customers', (c) => c.startsWith('npx portcullis connect') && c.includes('SELECT name, email, card_number')), tokenEnv);
  assert.equal(select.code, 0, select.stderr);
  assert.match(select.stdout, /Jane Roe\s+\| j\*\*\*@example\.com/);
  assert.ok(!select.stdout.includes('jane.roe@example.com') && !select.stdout.includes('4111'), select.stdout);
  const drop = await shell(printed(commands, 'drops the table', (c) => c.startsWith('npx portcullis connect') && c.includes('DROP TABLE customers')), tokenEnv);
  assert.equal(drop.code, 1);
  assert.match(drop.stderr, /ERROR: {2}Portcullis blocked this statement: rule automation-no-destructive/);

  // ------------------------------------------------------------ the same token for ssh (through SSH_ASKPASS), curl and kubectl
  const agentEnv = { ...tokenEnv, ...(await exported(printed(commands, 'sets SSH_ASKPASS', (c) => c.startsWith('export SSH_ASKPASS=')))) };
  assert.ok(agentEnv.SSH_ASKPASS && agentEnv.SSH_ASKPASS_REQUIRE, JSON.stringify(Object.keys(agentEnv)));

  // ------------------------------------------------------------ SSH: uptime runs, rm -rf never reaches the host
  const uptime = await shell(printed(commands, 'runs uptime over ssh', (c) => c.startsWith('ssh ') && c.includes(' uptime')), agentEnv);
  assert.equal(uptime.code, 0, uptime.stderr);
  assert.match(uptime.stdout, /up .*load average: [\d.]+, [\d.]+, [\d.]+/);

  // The demo host is this machine: /tmp/x exists while the blocked rm -rf /tmp/x is tried, and is still there after.
  const victim = '/tmp/x';
  const createdVictim = !existsSync(victim);
  mkdirSync(victim, { recursive: true });
  const marker = join(victim, `portcullis-quick-start-${process.pid}`);
  writeFileSync(marker, 'must survive');
  try {
    const rm = await shell(printed(commands, 'runs rm -rf over ssh', (c) => c.startsWith('ssh ') && c.includes(' rm -rf /tmp/x')), agentEnv);
    assert.equal(rm.code, 1, rm.stderr);
    assert.match(rm.stderr, /^portcullis: blocked by rule ssh-destructive: .*destructive host commands are not allowed$/m);
    assert.equal(readFileSync(marker, 'utf8'), 'must survive', 'the target never ran rm -rf');
  } finally {
    rmSync(createdVictim ? victim : marker, { recursive: true, force: true });
  }

  // ------------------------------------------------------------ HTTP: the customers come back masked
  const curl = await shell(printed(commands, 'curls /v1/customers', (c) => c.startsWith('curl ') && c.includes('/v1/customers')), agentEnv);
  assert.equal(curl.code, 0, curl.stderr);
  const customers = (JSON.parse(curl.stdout) as { items: { name: string; email: string; phone: string; billing: { card_number: string } }[] }).items;
  const jane = customers.find((c) => c.name === 'Jane Roe')!;
  assert.ok(jane, curl.stdout);
  assert.equal(jane.email, 'j***@example.com');
  assert.match(jane.billing.card_number, /^\*+1111$/);
  assert.match(jane.phone, /^[+* ]+32$/);
  for (const raw of ['jane.roe@example.com', '4111 1111 1111 1111', '+1 415 555 0132', 'john.doe@example.org']) assert.ok(!curl.stdout.includes(raw), `${raw} leaked:\n${curl.stdout}`);

  // ------------------------------------------------------------ Kubernetes: pods listed, secrets Forbidden
  const pods = await shell(printed(commands, 'gets pods', (c) => c.startsWith('kubectl ') && c.includes(' get pods')), agentEnv);
  assert.equal(pods.code, 0, pods.stderr);
  assert.match(pods.stdout, /^NAME\s+AGE\nweb-1\s+\S+\nweb-2\s+\S+\n$/);
  const secrets = await shell(printed(commands, 'gets secrets', (c) => c.startsWith('kubectl ') && c.includes(' get secrets')), agentEnv);
  assert.equal(secrets.code, 1);
  assert.match(secrets.stderr, /^Error from server \(Forbidden\): secrets and exec are off limits to automation \(Portcullis rule k8s-no-secrets-or-exec, policy v\d+\)$/m);
  assert.ok(!secrets.stdout.includes('db-password'), secrets.stdout);

  // ------------------------------------------------------------ the auditor replays the SSH sessions
  const listLine = printed(commands, 'lists sessions as the auditor', (c) => c.includes('portcullis audit sessions'));
  const replayLine = printed(commands, 'replays a session', (c) => c.includes('portcullis replay <session-id>') && !c.includes('--cast'));
  const castLine = printed(commands, 'writes an SSH session\'s recording', (c) => c.includes('portcullis replay <session-id>') && c.includes('--cast'));
  const ours = await eventually('both SSH sessions in the audit', async () => {
    const list = await shell(listLine);
    assert.equal(list.code, 0, list.stderr);
    const sessions = sessionLines(list.stdout).filter((s) => s.resource === 'demo-host' && s.subject === 'llm-agent' && s.startedAt >= startedAt);
    const allowed = sessions.find((s) => s.blockedOrHeld === 0);
    const blocked = sessions.find((s) => s.blockedOrHeld === 1);
    return allowed && blocked ? { allowed, blocked } : undefined;
  }, 60_000);

  const replayAllowed = await shell(replayLine.replace('<session-id>', ours.allowed.sessionId));
  assert.equal(replayAllowed.code, 0, replayAllowed.stderr);
  assert.match(replayAllowed.stdout, /-- portcullis: ALLOWED by rule automation-ssh-inspect: automation may inspect hosts\ndemo-host=> uptime\nexit 0/);
  const replayBlocked = await shell(replayLine.replace('<session-id>', ours.blocked.sessionId));
  assert.match(replayBlocked.stdout, /-- portcullis: BLOCKED by rule ssh-destructive: .*\ndemo-host=> rm -rf \/tmp\/x\n/);

  const castFile = join(root, 'ssh.cast');
  try {
    const cast = await shell(castLine.replace('<session-id>', ours.allowed.sessionId));
    assert.equal(cast.code, 0, cast.stderr);
    const [header, ...events] = readFileSync(castFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
    assert.equal((header as { version: number }).version, 2);
    assert.ok(events.some((e) => Array.isArray(e) && e[1] === 'o' && /load average/.test(String(e[2]))), 'the recording holds what uptime printed');
  } finally {
    rmSync(castFile, { force: true });
  }
});
