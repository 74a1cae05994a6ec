import { test } from 'node:test';
import assert from 'node:assert/strict';
import { analyzeShell, configureShellAnalysisCache, MAX_NESTING } from '../src/analysis/shell.ts';
import type { ShellAnalysis, SimpleCommandAnalysis } from '../src/analysis/types.ts';

async function commands(line: string): Promise<SimpleCommandAnalysis[]> {
  const r = await analyzeShell(line);
  assert.equal(r.ok, true, `expected ${JSON.stringify(line)} to parse: ${r.ok ? '' : r.error}`);
  // The facts (paths, options, variables) are covered by shell-facts.unit.test.ts.
  return (r as ShellAnalysis).commands.map(({ facts: _facts, ...c }) => c);
}

/** The one command running `program`, failing when there is none or several. */
async function the(line: string, program: string): Promise<SimpleCommandAnalysis> {
  const found = (await commands(line)).filter((c) => c.program === program);
  assert.equal(found.length, 1, `${JSON.stringify(line)}: expected one ${program}, got ${found.length}`);
  return found[0]!;
}

async function programs(line: string): Promise<string[]> {
  return (await commands(line)).map((c) => c.program);
}

test('a plain command: program, path and literal arguments', async () => {
  assert.deepEqual(await commands('rm -rf /'), [{ path: 'rm', program: 'rm', args: ['-rf', '/'], wrappers: [], redirects: [], dynamic: false }]);
});

test('absolute and relative paths keep the path as written and report the basename', async () => {
  const abs = await the('/bin/rm -rf /', 'rm');
  assert.equal(abs.path, '/bin/rm');
  assert.equal((await the('./rm x', 'rm')).path, './rm');
  const viaEnv = await the('/usr/bin/env rm -rf /', 'rm');
  assert.deepEqual(viaEnv.wrappers, ['env']);
  assert.deepEqual(viaEnv.wrapperCommands, [{ path: '/usr/bin/env', program: 'env', args: ['rm', '-rf', '/'] }]);
});

test('lists, pipelines, and/or, background: every command is found', async () => {
  assert.deepEqual(await programs('echo ok; rm -rf /'), ['echo', 'rm']);
  assert.deepEqual(await programs('true && rm -rf /'), ['true', 'rm']);
  assert.deepEqual(await programs('false || rm -rf /'), ['false', 'rm']);
  assert.deepEqual(await programs('sleep 1 & rm -rf /'), ['sleep', 'rm']);
  assert.deepEqual(await programs('cat /etc/passwd | grep root | tee /tmp/x'), ['cat', 'grep', 'tee']);
  assert.deepEqual(await programs('echo a\nrm -rf /'), ['echo', 'rm']);
});

test('compound commands: subshells, blocks, if/while/for/case bodies, functions', async () => {
  assert.deepEqual(await programs('(cd / && rm -rf x)'), ['cd', 'rm']);
  assert.deepEqual(await programs('{ rm -rf /; }'), ['rm']);
  assert.deepEqual(await programs('if test -d /x; then rm -rf /x; else mkfs.ext4 /dev/sda1; fi'), ['test', 'rm', 'mkfs.ext4']);
  assert.deepEqual(await programs('while true; do shutdown -h now; done'), ['true', 'shutdown']);
  assert.deepEqual(await programs('for f in a b; do rm "$f"; done'), ['', 'rm'], 'the loop variable is an assignment');
  assert.deepEqual(await programs('case $x in a) rm -rf /;; *) reboot;; esac'), ['rm', 'reboot']);
  assert.deepEqual(await programs('f() { rm -rf /; }; f'), ['rm', 'f']);
  assert.deepEqual(await programs('time rm -rf /'), ['rm']);
  assert.deepEqual((await the('time rm -rf /', 'rm')).wrappers, ['time']);
});

test('command substitution anywhere: $( ), backticks, inside double quotes, assignments, redirect targets', async () => {
  const bare = await commands('$(rm -rf /)');
  assert.deepEqual(bare.map((c) => [c.program, c.dynamic]), [['rm', false], ['$(rm -rf /)', true]]);
  assert.deepEqual(await programs('`rm -rf /`'), ['rm', '`rm -rf /`']);
  const quoted = await commands('echo "$(rm -rf /)"');
  assert.deepEqual(quoted.map((c) => c.program), ['rm', 'echo']);
  assert.equal(quoted[1]!.dynamic, true);
  assert.deepEqual(quoted[1]!.args, ['"$(rm -rf /)"']);
  assert.deepEqual(await programs('X=$(rm -rf /)'), ['rm', ''], 'the assignment itself is judged too');
  assert.deepEqual(await programs('echo hi > "$(rm -rf /)"'), ['rm', 'echo']);
  assert.deepEqual(await programs('echo ${X:-$(rm -rf /)}'), ['rm', 'echo']);
  assert.deepEqual(await programs('diff <(ls /a) >(rm -rf /)'), ['ls', 'rm', 'diff']);
  assert.deepEqual(await programs('[[ -f $(rm -rf /) ]]'), ['rm']);
  assert.deepEqual(await programs('(( $(rm -rf /) ))'), ['rm']);
  assert.deepEqual(await programs('a[$(rm -rf /)]=1'), ['rm', ''], 'the array element assignment is judged too');
  assert.deepEqual(await programs('export A=$(rm -rf /)'), ['rm', 'export']);
  assert.deepEqual(await programs('cat <<EOF\n$(rm -rf /)\nEOF'), ['rm', 'cat']);
  assert.deepEqual(await programs("cat <<'EOF'\n$(rm -rf /)\nEOF"), ['cat'], 'a quoted here-document does not expand');
});

test('shells given a command string are parsed again, recursively', async () => {
  const viaBash = await the("bash -c 'rm -rf /tmp/x'", 'rm');
  assert.deepEqual(viaBash.args, ['-rf', '/tmp/x']);
  assert.deepEqual(viaBash.wrappers, ['bash -c']);
  const nested = await the(`sh -c "bash -c 'rm -rf /'"`, 'rm');
  assert.deepEqual(nested.wrappers, ['sh -c', 'bash -c']);
  assert.deepEqual((await the("zsh -c 'rm -rf /'", 'rm')).wrappers, ['zsh -c']);
  assert.deepEqual((await the("dash -c 'rm -rf /'", 'rm')).wrappers, ['dash -c']);
  assert.deepEqual((await the("bash -xec 'rm -rf /' name arg", 'rm')).wrappers, ['bash -c']);
  assert.deepEqual((await the("bash -o pipefail -c 'rm -rf /'", 'rm')).wrappers, ['bash -c']);
  assert.deepEqual((await the("su - root -c 'rm -rf /'", 'rm')).wrappers, ['su -c']);
  assert.deepEqual((await the("su -c 'rm -rf /' root", 'rm')).wrappers, ['su -c']);
  assert.deepEqual((await the('eval "rm -rf /"', 'rm')).wrappers, ['eval']);
  assert.deepEqual((await the('eval rm -rf /', 'rm')).args, ['-rf', '/']);
  assert.deepEqual((await the("trap 'rm -rf /' EXIT", 'rm')).wrappers, ['trap']);
  assert.deepEqual((await the("env -S 'rm -rf' /", 'rm')).args, ['-rf', '/']);
});

test('nesting deeper than the limit fails closed', async () => {
  // Each eval re-parses the rest of the line: depth 12 > MAX_NESTING.
  const r = await analyzeShell('eval '.repeat(12) + 'rm -rf /');
  assert.equal(r.ok, false);
  assert.match((r as { error: string }).error, /^unparseable: .*nested/);
});

test('nesting within the limit is followed', async () => {
  assert.deepEqual((await the('eval '.repeat(MAX_NESTING) + 'rm -rf /', 'rm')).wrappers, Array(MAX_NESTING).fill('eval'));
});

test('a computed command string makes the shell dynamic', async () => {
  const c = await the('bash -c "$SCRIPT"', 'bash');
  assert.equal(c.dynamic, true);
  assert.equal((await the('eval "$X"', 'eval')).dynamic, true);
});

test('here-documents and here-strings fed to a shell are parsed as commands', async () => {
  const c = await the('bash <<EOF\nrm -rf /\nEOF', 'rm');
  assert.deepEqual(c.wrappers, ['bash']);
  assert.deepEqual((await the("sh <<'X'\nshutdown -h now\nX", 'shutdown')).args, ['-h', 'now']);
  assert.deepEqual((await the("bash <<< 'rm -rf /'", 'rm')).args, ['-rf', '/']);
  // Commands a shell reads from a pipe or a file cannot be seen.
  assert.equal((await the('curl -s https://x/install | sh', 'sh')).dynamic, true);
  assert.equal((await the('bash < script.sh', 'bash')).dynamic, true);
  assert.equal((await the('bash script.sh', 'bash')).dynamic, true);
  assert.equal((await the('source ./env.sh', 'source')).dynamic, true);
});

test('wrappers are seen through, with their options', async () => {
  const sudo = await the('sudo -u root rm -rf /', 'rm');
  assert.deepEqual(sudo.wrappers, ['sudo']);
  assert.deepEqual(sudo.wrapperCommands, [{ path: 'sudo', program: 'sudo', args: ['-u', 'root', 'rm', '-rf', '/'] }]);
  assert.deepEqual((await the('sudo -E -uroot -- rm -rf /', 'rm')).args, ['-rf', '/']);
  assert.deepEqual((await the('sudo --user=root FOO=1 rm -rf /', 'rm')).env, ['FOO=1']);
  assert.equal((await the('sudo -l', 'sudo')).dynamic, false);
  assert.deepEqual(await programs('sudo -l rm'), ['sudo'], 'sudo -l only lists');
  const env = await the('env -i PATH=/bin rm -rf /', 'rm');
  assert.deepEqual([env.wrappers, env.env], [['env'], ['PATH=/bin']]);
  assert.deepEqual((await the('env -u HOME -C /tmp rm x', 'rm')).args, ['x']);
  assert.deepEqual((await the('timeout 5 nice -n 10 rm -rf /', 'rm')).wrappers, ['timeout', 'nice']);
  assert.deepEqual((await the('timeout -s KILL -k 1 5s rm x', 'rm')).wrappers, ['timeout']);
  assert.deepEqual((await the('nice -5 rm x', 'rm')).wrappers, ['nice']);
  assert.deepEqual((await the('nohup rm x &', 'rm')).wrappers, ['nohup']);
  assert.deepEqual((await the('exec -a foo rm x', 'rm')).wrappers, ['exec']);
  assert.deepEqual((await the('command -p rm x', 'rm')).wrappers, ['command']);
  assert.deepEqual(await programs('command -v rm'), ['command'], 'command -v only looks the name up');
  assert.deepEqual((await the('builtin cd /', 'cd')).wrappers, ['builtin']);
  assert.deepEqual((await the('/usr/bin/time -f %e rm x', 'rm')).wrappers, ['time']);
  assert.deepEqual((await the('stdbuf -oL -e 0 rm x', 'rm')).wrappers, ['stdbuf']);
  assert.deepEqual((await the('ionice -c 3 -n7 rm x', 'rm')).wrappers, ['ionice']);
  assert.deepEqual((await the('chroot /mnt rm -rf /', 'rm')).wrappers, ['chroot']);
  assert.deepEqual((await the('chroot --userspec=1:1 /mnt', 'chroot')).args, ['--userspec=1:1', '/mnt']);
  assert.deepEqual((await the('doas -u root rm x', 'rm')).wrappers, ['doas']);
  assert.deepEqual((await the('setsid -f rm x', 'rm')).wrappers, ['setsid']);
  assert.deepEqual((await the('busybox rm -rf /', 'rm')).wrappers, ['busybox']);
  assert.deepEqual((await the('runuser -u app -- rm x', 'rm')).wrappers, ['runuser -u']);
  const deep = await the('sudo -s -E -- env -u X nice -5 stdbuf -oL ionice -c3 chroot /mnt busybox rm x', 'rm');
  assert.deepEqual(deep.wrappers, ['sudo', 'env', 'nice', 'stdbuf', 'ionice', 'chroot', 'busybox']);
});

test('xargs and find -exec: the command they run is found, with run-time arguments flagged', async () => {
  const x = await the('xargs rm < list', 'rm');
  assert.deepEqual([x.wrappers, x.dynamic, x.redirects], [['xargs'], true, [{ op: '<', target: 'list' }]]);
  assert.deepEqual((await the('find . -name "*.log" -print0 | xargs -0 -n 10 -I{} rm {}', 'rm')).wrappers, ['xargs']);
  assert.deepEqual((await the("xargs sh -c 'rm -rf \"$@\"' _", 'rm')).wrappers, ['xargs', 'sh -c']);
  const cmds = await commands('find / -exec rm {} \\;');
  assert.deepEqual(cmds.map((c) => c.program), ['find', 'rm']);
  assert.deepEqual(cmds[0]!.args, ['/', '-exec', 'rm', '{}', ';']);
  assert.deepEqual([cmds[1]!.args, cmds[1]!.wrappers, cmds[1]!.dynamic], [['{}'], ['find -exec'], true]);
  assert.deepEqual(await programs('find . -execdir chmod 777 {} + -exec rm -f {} ";"'), ['find', 'chmod', 'rm']);
  assert.equal((await the('find /tmp -delete', 'find')).args.includes('-delete'), true);
});

test('quoting does not hide a program name', async () => {
  for (const line of ["r''m -rf /", '"rm" -rf /', '\\rm -rf /', "$'\\x72\\x6d' -rf /", "$'\\162m' -rf /", "'r'\"m\" -rf /", '$"rm" -rf /']) {
    const c = await the(line, 'rm');
    assert.deepEqual([c.args, c.dynamic], [['-rf', '/'], false], line);
  }
  assert.deepEqual((await the("echo $'a\\tb\\u00e9\\cA'", 'echo')).args, ['a\tbé\x01']);
  assert.deepEqual((await the('echo "a\\$b\\q" \'c\\d\'', 'echo')).args, ['a$b\\q', 'c\\d']);
});

test('a program computed at run time is dynamic', async () => {
  const cmds = await commands('X=rm; $X -rf /');
  assert.deepEqual(cmds, [
    { path: '', program: '', args: [], wrappers: [], redirects: [], dynamic: false, env: ['X=rm'] },
    { path: '$X', program: '$X', args: ['-rf', '/'], wrappers: [], redirects: [], dynamic: true },
  ]);
  for (const line of ['$(echo rm) -rf /', '${X:-rm} -rf /', '/bin/r? -rf /', '/bin/r* x', 'r{m,x} -rf /', '"$CMD" x']) {
    const c = (await commands(line)).at(-1)!;
    assert.equal(c.dynamic, true, line);
  }
  assert.equal((await the('sudo $OPTS rm x', 'sudo')).dynamic, true, 'an unknown option word hides the command');
});

test('arguments: literal after quote removal; computed ones kept as written and flagged', async () => {
  const c = await the('rm -rf "$HOME"/x /tmp/*.log \'a b\'', 'rm');
  assert.deepEqual(c.args, ['-rf', '"$HOME"/x', '/tmp/*.log', 'a b']);
  assert.equal(c.dynamic, true);
  assert.deepEqual((await the('echo {}', 'echo')).dynamic, false);
});

test('redirects: operator, target and fd', async () => {
  assert.deepEqual((await the('echo x > /dev/sda', 'echo')).redirects, [{ op: '>', target: '/dev/sda' }]);
  assert.deepEqual((await the('cat a >> /etc/passwd', 'cat')).redirects, [{ op: '>>', target: '/etc/passwd' }]);
  assert.deepEqual((await the('ls 2>&1 &>/dev/null', 'ls')).redirects, [{ op: '>&', target: '1', fd: '2' }, { op: '&>', target: '/dev/null' }]);
  assert.deepEqual((await the('{ echo x; } > /dev/sda', 'echo')).redirects, [{ op: '>', target: '/dev/sda' }]);
  assert.deepEqual(await commands('> /dev/sda'), [{ path: '', program: '', args: [], wrappers: [], redirects: [{ op: '>', target: '/dev/sda' }], dynamic: false }]);
  assert.equal((await the('echo x > $DEV', 'echo')).dynamic, true);
});

test('destructive commands the policy matches on are reported as written', async () => {
  assert.deepEqual((await the('mkfs.ext4 /dev/sda1', 'mkfs.ext4')).args, ['/dev/sda1']);
  assert.deepEqual((await the('dd if=/dev/zero of=/dev/sda', 'dd')).args, ['if=/dev/zero', 'of=/dev/sda']);
  assert.deepEqual((await the('shutdown -h now', 'shutdown')).args, ['-h', 'now']);
  assert.deepEqual((await the('systemctl restart nginx', 'systemctl')).args, ['restart', 'nginx']);
});

test('scp, rsync and git server-side command lines', async () => {
  assert.deepEqual(await commands('scp -t /tmp/x'), [{ path: 'scp', program: 'scp', args: ['-t', '/tmp/x'], wrappers: [], redirects: [], dynamic: false }]);
  assert.deepEqual((await the('rsync --server -logDtpre.iLsfxCIvu . /srv/data', 'rsync')).args, ['--server', '-logDtpre.iLsfxCIvu', '.', '/srv/data']);
  assert.deepEqual((await the("git-upload-pack '/repo.git'", 'git-upload-pack')).args, ['/repo.git']);
  assert.deepEqual((await the("git-receive-pack '/repo.git'", 'git-receive-pack')).args, ['/repo.git']);
});

test('prefix assignments are reported in env', async () => {
  assert.deepEqual((await the('LD_PRELOAD=/tmp/x.so ls', 'ls')).env, ['LD_PRELOAD=/tmp/x.so']);
});

test('unparseable input fails closed', async () => {
  for (const line of ['echo "unterminated', 'if true; then', 'echo $(', "bash -c 'echo \"x'"]) {
    const r = await analyzeShell(line);
    assert.equal(r.ok, false, line);
    assert.match((r as { error: string }).error, /^unparseable: /);
  }
});

test('an over-long command line fails closed', async () => {
  const r = await analyzeShell('echo ' + 'x'.repeat(70 * 1024));
  assert.deepEqual(r, { ok: false, error: 'unparseable: command line longer than 65536 bytes' });
});

test('pathological nesting fails closed instead of crashing', async () => {
  const r = await analyzeShell('('.repeat(3000) + 'rm' + ')'.repeat(3000));
  assert.equal(r.ok, false);
});

test('a non-literal here-document fed to a shell is analysed and flagged dynamic', async () => {
  const cmds = await commands('bash <<EOF\nrm $X\nEOF');
  assert.deepEqual(cmds.map((c) => [c.program, c.args, c.dynamic]), [['rm', ['$X'], true]]);
});

test('an empty line runs nothing', async () => {
  assert.deepEqual(await commands(''), []);
  assert.deepEqual(await commands('# just a comment'), []);
});

test('repeated command lines: the cached analysis equals a fresh one, is frozen, and is kept apart per login user and working directory', async () => {
  const line = 'cat ~/notes.txt && cd logs && rm -f old.log';
  configureShellAnalysisCache(0);
  const fresh = await analyzeShell(line, { user: 'alice', cwd: '/srv' });
  configureShellAnalysisCache(1000);
  const first = await analyzeShell(line, { user: 'alice', cwd: '/srv' });
  const again = await analyzeShell(line, { user: 'alice', cwd: '/srv' });
  assert.deepEqual(again, fresh, 'the cache answers what the parser would');
  assert.equal(again, first, 'the second ask is the cached analysis');
  assert.ok(Object.isFrozen(again) && Object.isFrozen((again as ShellAnalysis).commands[0]!.args), 'shared analyses cannot be changed by one caller for the next');
  // Where ~ and relative paths point depends on the user and directory: never answered from another's entry.
  const paths = (a: Awaited<ReturnType<typeof analyzeShell>>): string[] => (a as ShellAnalysis).commands.flatMap((c) => c.facts!.args.flatMap((x) => x.paths));
  const bob = await analyzeShell(line, { user: 'bob', cwd: '/srv' });
  const elsewhere = await analyzeShell(line, { user: 'alice', cwd: '/tmp' });
  assert.ok(paths(first).includes('/home/alice/notes.txt'), JSON.stringify(paths(first)));
  assert.ok(paths(bob).includes('/home/bob/notes.txt'), JSON.stringify(paths(bob)));
  assert.ok(paths(first).includes('/srv/logs/old.log') && paths(elsewhere).includes('/tmp/logs/old.log'), JSON.stringify([paths(first), paths(elsewhere)]));
});
