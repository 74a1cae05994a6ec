/** Shell facts: path normalisation, redirect access, walked trees, options and subcommands, variables. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeShell } from '../src/analysis/shell.ts';
import type { ShellFacts } from '../src/analysis/types.ts';
import { normalisePath, readingsOf, unknownLocation } from '../src/analysis/shell-paths.ts';
import { scanArguments } from '../src/analysis/shell-options.ts';
import { isSensitiveVariable, variableName } from '../src/analysis/shell-variables.ts';
import { pathGlobs, expandBraces } from '../src/policy/path-patterns.ts';
import { MAX_DIRECTORIES } from '../src/analysis/shell-facts.ts';

async function facts(line: string, program: string, location: { cwd?: string; user?: string } = {}): Promise<ShellFacts> {
  const r = await analyzeShell(line, location);
  assert.ok(r.ok, `${line}: ${r.ok ? '' : r.error}`);
  const c = r.commands.find((x) => x.program === program);
  assert.ok(c?.facts, `${line}: no ${program}`);
  return c.facts;
}

describe('path normalisation', () => {
  it('given absolute spellings, when normalised, then //, /./ and /../ are resolved and / is the floor', () => {
    assert.equal(normalisePath('/etc//shadow'), '/etc/shadow');
    assert.equal(normalisePath('/etc/./shadow'), '/etc/shadow');
    assert.equal(normalisePath('/etc/../etc/shadow'), '/etc/shadow');
    assert.equal(normalisePath('/../../etc/shadow/'), '/etc/shadow');
    assert.equal(normalisePath('///'), '/');
  });
  it('given a relative path and no known directory, then it stays relative and climbing also reaches /', () => {
    assert.deepEqual(readingsOf('./.ssh/id_rsa', unknownLocation), ['.ssh/id_rsa']);
    assert.deepEqual(readingsOf('../../etc/shadow', unknownLocation), ['etc/shadow', '/etc/shadow']);
    assert.deepEqual(readingsOf('.', unknownLocation), ['.']);
  });
  it('given a known directory, then relative paths are joined to it', () => {
    assert.deepEqual(readingsOf('../shadow', { cwds: ['/etc/ssh'], homes: ['/root'] }), ['/etc/shadow']);
  });
  it('given ~, ~user, ~+ and ~-, then each is expanded (a non-root home may be elsewhere too)', () => {
    const ctx = { cwds: ['/srv'], homes: ['/root'] };
    assert.ok(readingsOf('~/.ssh/id_rsa', ctx).includes('/root/.ssh/id_rsa'));
    assert.ok(readingsOf('~root/x', ctx).includes('/root/x'));
    assert.deepEqual(readingsOf('~deploy/.ssh/id_rsa', ctx).slice(0, 2), ['/home/deploy/.ssh/id_rsa', '.ssh/id_rsa']);
    assert.ok(readingsOf('~+/x', ctx).includes('/srv/x'));
    assert.ok(readingsOf('~-/x', ctx).includes('x'));
  });
  it('given kernel links, then /proc/<pid>/root is /, cwd and fd are anywhere, task/<tid> is /proc/<tid>, /dev/fd is /proc/self/fd', () => {
    assert.ok(readingsOf('/proc/self/root/etc/shadow', unknownLocation).includes('/etc/shadow'));
    assert.ok(readingsOf('/proc/1/task/7/environ', unknownLocation).includes('/proc/7/environ'));
    assert.ok(readingsOf('/proc/1/cwd/../etc/shadow', unknownLocation).includes('/etc/shadow'));
    assert.ok(readingsOf('/dev/fd/../root/etc/shadow', unknownLocation).includes('/etc/shadow'));
    assert.ok(readingsOf('/proc/net/../root/etc/shadow', unknownLocation).includes('/etc/shadow'));
    assert.ok(readingsOf('/proc/1/root', unknownLocation).includes('/'));
  });
});

describe('facts of a command line', () => {
  it('given cd anywhere in the line, then bare names are also read from that directory', async () => {
    assert.deepEqual((await facts('cd /etc && cat shadow', 'cat')).args[0]!.paths, ['shadow', '/etc/shadow']);
    assert.ok((await facts('cat shadow; cd /etc', 'cat')).args[0]!.paths.includes('/etc/shadow'), 'order does not matter (loops)');
    assert.ok((await facts('env -C /etc cat shadow', 'cat')).args[0]!.paths.includes('/etc/shadow'));
    assert.deepEqual((await facts('cat shadow', 'cat', { cwd: '/etc' })).args[0]!.paths, ['/etc/shadow']);
  });
  it('given more working directories than MAX_DIRECTORIES, then the line fails closed', async () => {
    const line = Array.from({ length: MAX_DIRECTORIES + 1 }, (_, i) => `cd /d${i}`).join('; ') + '; cat x';
    const r = await analyzeShell(line);
    assert.deepEqual(r, { ok: false, error: `unparseable: more than ${MAX_DIRECTORIES} working directories in one line` });
  });
  it('given option words, then --opt=VALUE and attached short values are paths', async () => {
    const f = await facts('du --files0-from=/etc//shadow -X./x -n', 'du');
    assert.deepEqual(f.args.map((a) => [a.word, a.pathLike, a.paths]), [
      ['--files0-from=/etc//shadow', true, ['/etc/shadow']],
      ['-X./x', true, ['x', '/x']], // `./x` or, if -. took a value, `/x`
      ['-n', false, []],
    ]);
  });
  it('given redirections, then reads, writes and network are told apart; dups and here-documents open nothing', async () => {
    const f = await facts('cat < /etc/hosts 2>&1 >&- > /tmp/o 3<> /tmp/rw >&/tmp/both <<< x > /dev/tcp/127.0.0.1/80', 'cat');
    assert.deepEqual(
      f.files.map((x) => [x.access, x.paths]),
      [
        ['read', ['/etc/hosts']],
        ['write', ['/tmp/o']],
        ['write', ['/tmp/rw']],
        ['write', ['/tmp/both']],
        ['network', ['/dev/tcp/127.0.0.1/80']],
      ],
    );
  });
  it('given recursive readers, then the trees they walk', async () => {
    assert.deepEqual((await facts('grep -rn PRIVATE /home /root/', 'grep')).walks, ['/home', '/root']);
    assert.deepEqual((await facts('grep -e x -r /etc', 'grep')).walks, ['x', '/etc'], 'which word -e took is not known: both');
    assert.deepEqual((await facts('grep -r x', 'grep')).walks, ['.']);
    assert.deepEqual((await facts('grep x /etc', 'grep')).walks, []);
    assert.deepEqual((await facts('find -L /etc /root -name x', 'find')).walks, ['/etc', '/root']);
    assert.deepEqual((await facts('du -sh', 'du')).walks, ['.']);
    assert.deepEqual((await facts('ls -laR /home', 'ls')).walks, ['/home']);
    assert.deepEqual((await facts('ls -la /home', 'ls')).walks, []);
    assert.deepEqual((await facts('cp -a /root /tmp/x', 'cp')).walks, ['/root', '/tmp/x']);
  });
  it('given options anywhere, then clusters are split and an option before the first operand makes it ambiguous', () => {
    assert.deepEqual(scanArguments(['-qH', 'host', 'status', '--no-pager', 'x', '--lines=5']), {
      options: ['-q', '-H', '--no-pager', '--lines'],
      operands: ['host', 'status', 'x'],
      subcommands: ['host', 'status'],
    });
    assert.deepEqual(scanArguments(['status', '-H', 'h']).subcommands, ['status']);
    assert.deepEqual(scanArguments(['--', '-x']).subcommands, ['-x']);
    assert.deepEqual(scanArguments(['--host=h', 'status']).subcommands, ['status']);
  });
  it('given assignments in every form, then the variables set are listed', async () => {
    assert.deepEqual((await facts('A=1 B+=2 env C=3 ls', 'ls')).variables, ['A', 'B', 'C']);
    assert.deepEqual((await facts('export -p X=1 Y', 'export')).variables, ['X']);
    assert.deepEqual((await facts('declare -x PATH=/tmp', 'declare')).variables, ['PATH']);
    assert.deepEqual((await facts('printf -v PATH x', 'printf')).variables, ['PATH']);
    const r = await analyzeShell('for IFS in a; do :; done');
    assert.ok(r.ok && r.commands.some((c) => c.facts?.variables.includes('IFS')));
    assert.equal(variableName('PATH[0]=x'), 'PATH');
  });
  it('loader, pager, editor and shell variables are sensitive; ordinary ones are not', () => {
    for (const v of ['LD_PRELOAD', 'LD_AUDIT', 'PATH', 'SYSTEMD_PAGER', 'MANPAGER', 'PAGER', 'EDITOR', 'VISUAL', 'BASH_ENV', 'ENV', 'IFS', 'PS4', 'SHELLOPTS', 'PROMPT_COMMAND', 'BASH_FUNC_x%%', 'GIT_SSH_COMMAND', 'PYTHONPATH']) {
      assert.equal(isSensitiveVariable(v), true, v);
    }
    for (const v of ['TZ', 'LANG', 'LC_ALL', 'COLUMNS', 'FOO']) assert.equal(isSensitiveVariable(v), false, v);
  });
});

describe('path patterns', () => {
  it('expand braces across segments', () => {
    assert.deepEqual(expandBraces('/etc/{shadow,ssh/ssh_host_*}'), ['/etc/shadow', '/etc/ssh/ssh_host_*']);
    assert.deepEqual(expandBraces('/a/{b,{c,d}}/e'), ['/a/b/e', '/a/c/e', '/a/d/e']);
  });
  it('given a directory walked, then a pattern counts when it could match inside it', () => {
    const g = pathGlobs(['/etc/shadow*', '/home/*/.ssh/**', '**/.ssh/**']);
    assert.equal(g.couldContain('/'), true);
    assert.equal(g.couldContain('/etc'), true);
    assert.equal(g.couldContain('/home'), true);
    assert.equal(g.couldContain('/home/bob/.ssh'), true);
    assert.equal(g.couldContain('/var/log'), false, 'a leading ** does not make every directory contain it');
    assert.equal(g.couldContain('logs'), false, 'an absolute pattern does not reach a relative directory');
    assert.equal(g.couldContain('.ssh'), true);
    assert.equal(g.couldContain('.'), true, 'the unknown working directory could be anything');
  });
});
