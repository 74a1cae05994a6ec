/** The shell matchers: redirects by access, variables (env), per-program constraints, normalised path arguments. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { givenPolicy, human, whenShell } from './given.ts';
import { parsePolicyDocument } from '../src/policy/document.ts';

const policy = givenPolicy(`apiVersion: portcullis/v1
rules:
  - id: logs
    effect: allow
    match:
      shell:
        programs: [cat, tail, grep, ls, tee]
        args: ["-*", "/var/log/**"]
        redirects: { write: ["/tmp/out/**"], read: ["/var/log/**"] }
        env: [TZ, "LC_*", "*"]
  - id: units
    effect: allow
    match:
      shell:
        programs: [systemctl, journalctl]
        constraints:
          systemctl: { subcommands: [status, show], denyFlags: [-H, --host, "--vacuum-*"] }
          journalctl: { requiredFlags: [--no-pager, --since] }
  - id: ps
    effect: allow
    match:
      shell:
        programs: [ps]
        constraints:
          ps: { flags: [-e, -f, -o], operands: [aux] }
  - id: loader
    effect: allow
    match:
      identity: { kind: human }
      shell:
        programs: [ls]
        env: [LD_LIBRARY_PATH]
  - id: keys
    effect: block
    reason: keys
    match:
      shell:
        args: ["/root/**", "**/.ssh/**"]
  - id: network
    effect: block
    reason: no sockets
    match:
      shell:
        redirects: { network: ["/dev/tcp/**"] }
  - id: stop
    effect: block
    reason: no stopping
    match:
      shell:
        constraints:
          systemctl: { subcommands: [stop, kill] }
`);

const effect = async (line: string, over = {}): Promise<string> => (await whenShell(policy, line, over)).decision.effect;

describe('redirects: reads are arguments, writes and sockets need a pattern', () => {
  it('given a write redirect inside the pattern, then allowed; outside it, not', async () => {
    assert.equal(await effect('cat /var/log/syslog > /tmp/out/a'), 'allow');
    assert.equal(await effect('cat /var/log/syslog > /tmp/out/../a'), 'block');
    assert.equal(await effect('cat /var/log/syslog >> /etc/profile'), 'block');
  });
  it('given a read redirect, then it must be covered like an argument', async () => {
    assert.equal(await effect('cat < /var/log/syslog'), 'allow');
    assert.equal(await effect('cat < /etc/hosts'), 'block');
  });
  it('given /dev/tcp, then a block rule on network applies whatever the direction', async () => {
    const d = await whenShell(policy, 'cat < /dev/tcp/127.0.0.1/80');
    assert.deepEqual([d.decision.effect, d.decision.ruleIds], ['block', ['network']]);
  });
  it('given a rule without shell conditions, then it still admits no writes and no variables', async () => {
    const open = givenPolicy('apiVersion: portcullis/v1\nrules:\n  - { id: all, effect: allow, match: { protocol: ssh } }\n');
    assert.equal((await whenShell(open, 'ls /tmp')).decision.effect, 'allow');
    assert.equal((await whenShell(open, 'ls > /tmp/x')).decision.effect, 'block');
    assert.equal((await whenShell(open, 'X=1 ls')).decision.effect, 'block');
  });
});

describe('env: variables must be listed; sensitive ones only by exact name', () => {
  it('given a listed or globbed ordinary variable, then allowed', async () => {
    assert.equal(await effect('TZ=UTC LC_ALL=C FOO=1 tail /var/log/syslog'), 'allow');
  });
  it('given a sensitive variable, then a glob never admits it', async () => {
    assert.equal(await effect('LD_PRELOAD=/tmp/x.so tail /var/log/syslog'), 'block');
    assert.equal(await effect('export PATH=/tmp; tail /var/log/syslog'), 'block');
  });
  it('given a rule naming the sensitive variable exactly, then it is admitted', async () => {
    assert.equal(await effect('LD_LIBRARY_PATH=/opt/lib ls', { identity: human }), 'allow');
    assert.equal(await effect('LD_PRELOAD=/opt/lib/x.so ls', { identity: human }), 'block');
  });
});

describe('constraints: subcommands, flags, denied flags, operands', () => {
  it('subcommands: every candidate must be listed', async () => {
    assert.equal(await effect('systemctl status nginx'), 'allow');
    assert.equal(await effect('systemctl restart nginx'), 'block');
    assert.equal(await effect('systemctl --no-pager status nginx'), 'block', '`nginx` might be the verb if --no-pager took `status`');
    assert.equal(await effect('systemctl'), 'block', 'no subcommand is not a listed one');
  });
  it('denyFlags: long, --flag=value, clusters, abbreviations, globs', async () => {
    for (const line of ['systemctl -H h status x', 'systemctl --host=h status x', 'systemctl -aH h status x', 'systemctl --ho h status x', 'systemctl status x --vacuum-size=1', 'systemctl status x --vac']) {
      assert.equal(await effect(line), 'block', line);
    }
    assert.equal(await effect('systemctl status x --no-pager'), 'allow');
  });
  it('flags: an allow-list admits only those options; operands: only those words', async () => {
    assert.equal(await effect('ps -ef'), 'allow');
    assert.equal(await effect('ps aux'), 'allow');
    assert.equal(await effect('ps -ax'), 'block');
    assert.equal(await effect('ps eww'), 'block');
  });
  it('requiredFlags: every pattern met by an option', async () => {
    assert.equal(await effect('journalctl --no-pager --since=-1h'), 'allow');
    assert.equal(await effect('journalctl --since=-1h'), 'block');
  });
  it('a block rule with constraints applies when any candidate subcommand matches', async () => {
    const d = await whenShell(policy, 'systemctl -p status stop nginx');
    assert.deepEqual([d.decision.effect, d.decision.ruleIds], ['block', ['stop']]);
  });
});

describe('args: paths are matched normalised, bare words as written', () => {
  it('given an allowed directory reached by .., then not covered', async () => {
    assert.equal(await effect('tail /var/log/../../etc/hosts'), 'block');
    assert.equal(await effect('tail /var/log//syslog'), 'allow');
    assert.equal(await effect('tail --lines=5 /var/log/syslog'), 'allow', 'an option value not written like a path is the option');
    assert.equal(await effect('tail --follow=/etc/hosts /var/log/syslog'), 'block', 'an option value written like a path must be covered');
  });
  it('given a protected tree walked recursively, then the block rule applies', async () => {
    const d = await whenShell(policy, 'grep -r x /var/log /root');
    assert.deepEqual(d.decision.ruleIds, ['keys']);
  });
});

describe('policy document: the new matchers validate', () => {
  it('names a misspelt constraint field at its line', () => {
    const text = ['apiVersion: portcullis/v1', 'rules:', '  - id: r', '    effect: allow', '    match:', '      shell:', '        constraints:', '          systemctl: { subcomands: [status] }', ''].join('\n');
    const parsed = parsePolicyDocument(text, 'p.yaml');
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.errors.map((e) => [e.line, e.path, e.message]), [[8, 'rules[0].match.shell.constraints.systemctl.subcomands', 'unknown field "subcomands"']]);
  });
  it('a plain redirects list means every access', () => {
    const parsed = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - { id: r, effect: allow, match: { shell: { redirects: ["/dev/null"] } } }\n', 'p.yaml');
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.policy.rules[0]!.match.shell?.redirects, { read: ['/dev/null'], write: ['/dev/null'], network: ['/dev/null'] });
  });
});
