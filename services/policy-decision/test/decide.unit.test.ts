/** decide: precedence, default, multi-statement strings, approvals, shell and HTTP matching, fail-closed cases. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ShellAnalysis, HttpAnalysis, SimpleCommandAnalysis } from '../src/analysis/types.ts';
import { decide } from '../src/decide.ts';
import { evaluate } from '../src/evaluate.ts';
import { httpClasses, type KubernetesRequest } from '../src/analysis/http.ts';
import { initialPolicyState, withKnownResources } from '../src/policy/state.ts';
import { command, givenPolicy, human, sql, whenSql } from './given.ts';
import { readOnlyAutomation } from './policies.ts';

const policy = givenPolicy(readOnlyAutomation);

describe('decide: precedence and default', () => {
  it('no policy published → block', async () => {
    const { decision } = await whenSql(initialPolicyState, 'SELECT 1');
    assert.deepEqual([decision.effect, decision.reasons, decision.policyVersion], ['block', ['no policy published'], 0]);
  });
  it('block beats hold beats mask beats allow', async () => {
    const { decision } = await whenSql(policy, 'DELETE FROM orders');
    assert.equal(decision.effect, 'block');
    assert.deepEqual(decision.ruleIds, ['destructive']);
  });
  it('a command no rule allows gets the default, with a reason naming it', async () => {
    const { decision } = await whenSql(policy, 'SELECT 1', { identity: human });
    assert.equal(decision.effect, 'block');
    assert.deepEqual(decision.ruleIds, []);
    assert.equal(decision.reasons[0], 'no rule allows "SELECT 1"; the default is block');
  });
  it('the default is configurable', async () => {
    const open = givenPolicy('apiVersion: portcullis/v1\ndefaultEffect: allow\nrules: []\n');
    const { decision } = await whenSql(open, 'SELECT 1', { identity: human });
    assert.equal(decision.effect, 'allow');
  });
  it('every verdict carries the policy version', async () => {
    const twice = givenPolicy(readOnlyAutomation, readOnlyAutomation);
    const { decision } = await whenSql(twice, 'SELECT 1');
    assert.equal(decision.policyVersion, 2);
  });
  it('a rule that covers only part of a statement does not admit it', async () => {
    // read is allowed, but the statement is read + file-access; without a block rule it still falls to the default.
    const lenient = givenPolicy('apiVersion: portcullis/v1\nrules:\n  - id: r\n    effect: allow\n    match: { sql: { classes: [read] } }\n');
    const { decision } = await whenSql(lenient, "SELECT pg_read_file('/etc/passwd')");
    assert.equal(decision.effect, 'block');
  });
});

describe('decide: multi-statement strings are judged statement by statement', () => {
  it('the most restrictive statement decides', async () => {
    const { decision } = await whenSql(policy, "SELECT 1; UPDATE orders SET status = 'x' WHERE id = 1");
    assert.equal(decision.effect, 'hold');
    assert.deepEqual(decision.ruleIds, ['writes', 'pii']);
  });
  it('a statement no allow rule covers makes the whole string fall to the default', async () => {
    const { decision } = await whenSql(policy, 'SELECT 1; VACUUM orders');
    assert.equal(decision.effect, 'block');
    assert.match(decision.reasons[0]!, /^no rule allows statement 2 \(VACUUM orders\); the default is block$/);
  });
});

describe('decide: hold carries the approval', () => {
  it('approver groups, quorum, time to live from the command time', async () => {
    const { decision } = await whenSql(policy, "UPDATE orders SET status = 'x' WHERE id = 1");
    assert.deepEqual(decision.approval, {
      ruleId: 'writes',
      approverGroups: ['dba'],
      quorum: 1,
      ttlSeconds: 600,
      expiresAt: '2025-01-01T12:10:00.000Z',
    });
  });
  it('the strictest of several hold rules wins', async () => {
    const two = givenPolicy(`apiVersion: portcullis/v1
rules:
  - { id: a, effect: hold, match: { sql: { classes: [write] } }, approval: { approverGroups: [dba], quorum: 1, ttl: 1h } }
  - { id: b, effect: hold, match: { sql: { tables: [orders] } }, approval: { approverGroups: [owners], quorum: 2, ttl: 1h } }
`);
    const { decision } = await whenSql(two, "UPDATE orders SET x = 1 WHERE id = 1");
    assert.equal(decision.effect, 'hold');
    assert.deepEqual(decision.ruleIds, ['a', 'b']);
    assert.equal(decision.approval?.ruleId, 'b');
    assert.equal(decision.approval?.quorum, 2);
  });
});

describe('decide: the extended protocol judges each execution', () => {
  const parse = (text: string, statementName = '') => command({ kind: 'sql', text, phase: 'parse', statementName });
  const execution = (text: string, parameters: (string | null)[], statementName = '') => command({ kind: 'sql', text, phase: 'bind', statementName, parameters });
  const held = 'UPDATE orders SET status = $1 WHERE id = $2';

  it('given a statement the policy holds, when it is parsed, then it may be prepared and the reason says each execution is held', async () => {
    const { decision } = await evaluate(parse(held), policy);
    assert.equal(decision.effect, 'mask'); // the PII mask rule rides along; nothing is held
    assert.deepEqual(decision.ruleIds, ['writes', 'pii']);
    assert.equal(decision.approval, undefined);
    assert.ok(decision.reasons.some((r) => r.includes('each execution is held for approval')));
  });
  it('given the same statement, when it is executed with its parameters, then that execution is held with the approval', async () => {
    const { decision } = await evaluate(execution(held, ['shipped', '1']), policy);
    assert.equal(decision.effect, 'hold');
    assert.equal(decision.approval?.ruleId, 'writes');
  });
  it('given a statement the policy blocks, when it is parsed, then it is refused before it is prepared', async () => {
    const { decision } = await evaluate(parse('DROP TABLE orders'), policy);
    assert.equal(decision.effect, 'block');
  });
  it('given a named Parse, then the session knows the statement but nothing it does has happened until it executes', async () => {
    const { session } = await evaluate(parse('PREPARE inner_stmt AS SELECT 1', 'outer'), policy);
    assert.equal(session.prepared.get('outer'), 'PREPARE inner_stmt AS SELECT 1');
    assert.equal(session.prepared.has('inner_stmt'), false);
    const executed = await evaluate(execution('PREPARE inner_stmt AS SELECT 1', [], 'outer'), policy, session);
    assert.equal(executed.session.prepared.has('inner_stmt'), true);
  });
});

describe('decide: fail closed', () => {
  it('unknown resource is blocked when the known set is given', async () => {
    const known = withKnownResources(policy, ['orders-prod']);
    const { decision } = await whenSql(known, 'SELECT 1', { resource: { name: 'mystery', kind: 'postgres', tags: [] } });
    assert.deepEqual([decision.effect, decision.reasons], ['block', ['unknown resource "mystery"']]);
  });
  it('a command whose kind does not fit its protocol is blocked', async () => {
    const { decision } = await whenSql(policy, 'SELECT 1', { protocol: 'ssh' });
    assert.equal(decision.effect, 'block');
  });
  it('unparseable analysis → block "unparseable: …"', () => {
    const d = decide(sql('x'), { ok: false, error: 'boom' }, policy);
    assert.deepEqual([d.effect, d.reasons], ['block', ['unparseable: boom']]);
  });
  it('is deterministic', async () => {
    const a = await whenSql(policy, 'SELECT email FROM customers; DELETE FROM orders WHERE id = 1');
    const b = await whenSql(policy, 'SELECT email FROM customers; DELETE FROM orders WHERE id = 1');
    assert.deepEqual(a.decision, b.decision);
  });
});

// ---------------------------------------------------------------- shell, against hand-built analyses

const shellPolicy = givenPolicy(`apiVersion: portcullis/v1
rules:
  - id: inspect
    effect: allow
    reason: inspection
    match: { protocol: ssh, shell: { programs: [ls, cat, tail, grep], args: ["-*", "/var/log/**"] } }
  - id: no-rm
    effect: block
    reason: no rm
    match: { protocol: ssh, shell: { programs: [rm, "/usr/bin/shred"] } }
  - id: dynamic-echo
    effect: allow
    match: { protocol: ssh, shell: { programs: [echo], dynamic: true } }
  - id: sftp
    effect: allow
    match: { shell: { channels: [subsystem], programs: [sftp] } }
`);

const simple = (path: string, args: string[] = [], extra: Partial<SimpleCommandAnalysis> = {}): SimpleCommandAnalysis => ({
  path,
  program: path.slice(path.lastIndexOf('/') + 1),
  args,
  wrappers: [],
  redirects: [],
  dynamic: false,
  ...extra,
});
const shellAnalysis = (...commands: SimpleCommandAnalysis[]): ShellAnalysis => ({ ok: true, kind: 'shell', commands });
const shellCmd = (line: string, channel: 'exec' | 'shell' | 'subsystem' = 'exec', subsystem?: string) =>
  command({ kind: 'shell', commandLine: line, channel, ...(subsystem ? { subsystem } : {}) });

describe('decide: shell commands, simple command by simple command', () => {
  it('allowed program with covered arguments', () => {
    const d = decide(shellCmd('tail -f /var/log/syslog'), shellAnalysis(simple('tail', ['-f', '/var/log/syslog'])), shellPolicy);
    assert.deepEqual([d.effect, d.ruleIds], ['allow', ['inspect']]);
  });
  it('an argument outside the patterns is not covered → default', () => {
    const d = decide(shellCmd('cat /etc/shadow'), shellAnalysis(simple('cat', ['/etc/shadow'])), shellPolicy);
    assert.equal(d.effect, 'block');
  });
  it('one blocked command in a pipeline blocks the line; programs match by basename and full path', () => {
    const d = decide(shellCmd('ls | /usr/bin/rm -rf /'), shellAnalysis(simple('ls'), simple('/usr/bin/rm', ['-rf', '/'])), shellPolicy);
    assert.deepEqual([d.effect, d.ruleIds], ['block', ['no-rm']]);
    const e = decide(shellCmd('/usr/bin/shred x'), shellAnalysis(simple('/usr/bin/shred', ['x'])), shellPolicy);
    assert.deepEqual([e.effect, e.ruleIds], ['block', ['no-rm']]);
  });
  it('a dynamic program is admitted only by a rule that says so', () => {
    const d = decide(shellCmd('$CMD /var/log/x'), shellAnalysis(simple('$CMD', ['/var/log/x'], { program: '$CMD', dynamic: true })), shellPolicy);
    assert.equal(d.effect, 'block');
    const dynLs = decide(shellCmd('ls $DIR'), shellAnalysis(simple('ls', ['$DIR'], { dynamic: true })), shellPolicy);
    assert.equal(dynLs.effect, 'block');
    const echo = decide(shellCmd('echo $HOME'), shellAnalysis(simple('echo', ['$HOME'], { dynamic: true })), shellPolicy);
    assert.deepEqual([echo.effect, echo.ruleIds], ['allow', ['dynamic-echo']]);
  });
  it('a rule for the exec channel does not admit the same line typed in an interactive shell', () => {
    const execOnly = givenPolicy(`apiVersion: portcullis/v1
rules:
  - { id: exec-ls, effect: allow, match: { protocol: ssh, shell: { channels: [exec], programs: [ls] } } }
`);
    assert.equal(decide(shellCmd('ls'), shellAnalysis(simple('ls')), execOnly).effect, 'allow');
    assert.equal(decide(shellCmd('ls', 'shell'), shellAnalysis(simple('ls')), execOnly).effect, 'block');
    // Without `channels`, a rule covers both.
    assert.equal(decide(shellCmd('ls /var/log/x', 'shell'), shellAnalysis(simple('ls', ['/var/log/x'])), shellPolicy).effect, 'allow');
  });
  it('subsystem channels are admitted only by rules naming the channel', () => {
    const sftp = decide(shellCmd('', 'subsystem', 'sftp'), shellAnalysis(), shellPolicy);
    assert.deepEqual([sftp.effect, sftp.ruleIds], ['allow', ['sftp']]);
    const other = decide(shellCmd('', 'subsystem', 'netconf'), shellAnalysis(), shellPolicy);
    assert.equal(other.effect, 'block');
  });
});

// ---------------------------------------------------------------- HTTP / Kubernetes, hand-built analyses

const httpPolicy = givenPolicy(`apiVersion: portcullis/v1
rules:
  - { id: read, effect: allow, match: { http: { methods: [GET], kubernetes: { verbs: [get, list, watch] } } } }
  - { id: exec, effect: block, reason: no exec, match: { http: { kubernetes: { resources: ["pods/exec"] } } } }
  - { id: kube-system, effect: block, match: { http: { kubernetes: { namespaces: [kube-system] } } } }
  - { id: health, effect: allow, match: { http: { methods: [GET, HEAD], paths: ["/healthz", "/status/**"] } } }
`);
const http = (method: string, path: string, kubernetes?: HttpAnalysis['kubernetes']): [ReturnType<typeof command>, HttpAnalysis] => [
  command({ kind: 'http', method, path, query: '', headers: {}, bodySize: 0 }),
  { ok: true, kind: 'http', method, path, headers: {}, classes: httpClasses(kubernetes as KubernetesRequest | undefined, {}), ...(kubernetes ? { kubernetes } : {}) },
];
const pods = (verb: string, namespace = 'shop', subresource?: string): HttpAnalysis['kubernetes'] => ({
  verb,
  apiGroup: '',
  apiVersion: 'v1',
  resource: 'pods',
  namespace,
  ...(subresource ? { subresource } : {}),
});

describe('decide: HTTP and Kubernetes', () => {
  it('method + verb', () => {
    const d = decide(...http('GET', '/api/v1/namespaces/shop/pods', pods('list')), httpPolicy);
    assert.deepEqual([d.effect, d.ruleIds], ['allow', ['read']]);
  });
  it('resource/subresource', () => {
    const d = decide(...http('GET', '/api/v1/namespaces/shop/pods/web/exec', pods('get', 'shop', 'exec')), httpPolicy);
    assert.deepEqual([d.effect, d.ruleIds], ['block', ['exec']]);
  });
  it('namespace', () => {
    const d = decide(...http('GET', '/api/v1/namespaces/kube-system/pods', pods('list', 'kube-system')), httpPolicy);
    assert.deepEqual([d.effect, d.ruleIds], ['block', ['kube-system']]);
  });
  it('path globs', () => {
    assert.equal(decide(...http('GET', '/status/db/replica'), httpPolicy).effect, 'allow');
    assert.equal(decide(...http('POST', '/status/db'), httpPolicy).effect, 'block');
    assert.equal(decide(...http('GET', '/admin'), httpPolicy).effect, 'block');
  });
});
