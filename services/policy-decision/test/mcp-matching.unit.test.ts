/** MCP tool calls (protocol mcp) and the `via` attribute: analysis, tool and argument matching, tool-changed, listing. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CommandRequested } from '@portcullis/schemas';
import { evaluate } from '../src/evaluate.ts';
import { analyzeMcpToolCall, spellingsOf } from '../src/analysis/mcp.ts';
import { mcpToolListed } from '../src/mcp-tools.ts';
import { parsePolicyDocument } from '../src/policy/document.ts';
import { command, givenPolicy, human, mcpServer, service, sql } from './given.ts';

const POLICY = `
apiVersion: portcullis/v1
defaultEffect: block
rules:
  - id: read-tools
    effect: allow
    reason: reads are fine
    match: { identity: { kind: service }, protocol: mcp, mcp: { tools: [read_file, "get_*"] } }
  - id: write-under-srv
    effect: allow
    reason: writes under /srv
    match: { protocol: mcp, mcp: { tools: [write_file], arguments: { path: ["/srv/**"] } } }
  - id: no-delete
    effect: block
    reason: no deleting
    match: { protocol: mcp, mcp: { tools: ["delete_*"] } }
  - id: no-keys
    effect: block
    reason: keys stay
    match: { protocol: mcp, mcp: { arguments: { "*": ["**/.ssh/**"] } } }
  - id: no-admin-mode
    effect: block
    reason: no admin mode
    match: { protocol: mcp, mcp: { arguments: { options: [admin] } } }
  - id: changed-held
    effect: hold
    reason: changed tools are checked
    match: { protocol: mcp, mcp: { classes: [tool-changed] } }
    approval: { approverGroups: [approvers] }
  - id: sql-read
    effect: allow
    reason: reads
    match: { protocol: postgres, sql: { classes: [read] } }
  - id: no-sql-from-mcp-on-production
    effect: block
    reason: agents on MCP do not query production
    match: { via: mcp, resource: { tags: [production] }, protocol: postgres }
`;
const policy = givenPolicy(POLICY);

const call = (tool: string, args: unknown, over: Partial<CommandRequested> & { toolChanged?: boolean } = {}): CommandRequested => {
  const { toolChanged = false, ...rest } = over;
  return command({ kind: 'mcp-tool', tool, arguments: JSON.stringify(args), toolChanged }, rest);
};
const effectOf = async (c: CommandRequested): Promise<[string, string[]]> => {
  const { decision } = await evaluate(c, policy);
  return [decision.effect, decision.ruleIds];
};

describe('MCP tool calls', () => {
  it('given a read tool, when a service calls it, then it is allowed by the rule naming the tool', async () => {
    assert.deepEqual(await effectOf(call('read_file', { path: '/srv/a.txt' })), ['allow', ['read-tools']]);
    assert.deepEqual(await effectOf(call('get_weather', {})), ['allow', ['read-tools']]);
  });
  it('given a tool no rule names, then the default decides', async () => {
    assert.deepEqual(await effectOf(call('run_shell', { cmd: 'id' })), ['block', []]);
  });
  it('given a block on delete_*, then delete_file is blocked whatever its arguments', async () => {
    assert.deepEqual(await effectOf(call('delete_file', { path: '/srv/a' })), ['block', ['no-delete']]);
  });
  it('given an argument pattern, then the call is admitted only when every value matches, in every spelling', async () => {
    assert.equal((await effectOf(call('write_file', { path: '/srv/app/x.txt', content: 'hi' })))[0], 'allow');
    assert.equal((await effectOf(call('write_file', { path: '/srv/../etc/passwd' })))[0], 'block', '.. walks out of /srv');
    assert.equal((await effectOf(call('write_file', { path: ['/srv/a', '/etc/b'] })))[0], 'block', 'every item of a list counts');
    assert.equal((await effectOf(call('write_file', { content: 'no path' })))[0], 'block', 'an argument condition needs the argument');
  });
  it('given a block on a path pattern, then a path that resolves into it is blocked however it is spelled', async () => {
    for (const path of ['/home/a/.ssh/id_ed25519', '/srv/../home/a/.ssh/id_rsa', '/home/a/./.ssh/x', '\\home\\a\\.ssh\\x', '/home//a/.ssh/config']) {
      assert.deepEqual(await effectOf(call('read_file', { path })), ['block', ['no-keys']], path);
    }
    assert.deepEqual(await effectOf(call('fetch', { url: 'file:///home/a/.ssh/id_rsa' })), ['block', ['no-keys']], 'a file URL, in any argument');
    assert.deepEqual(await effectOf(call('read_file', { path: '/srv/%2e%2e/home/a/%2Essh/id' })), ['block', ['no-keys']], 'percent-escapes');
    assert.deepEqual(await effectOf(call('read_file', { options: { path: '/root/.ssh/k' } })), ['block', ['no-keys']], 'a nested argument');
  });
  it('given an argument condition on an object, then it judges every value inside it', async () => {
    assert.deepEqual(await effectOf(call('get_thing', { options: { mode: 'admin' } })), ['block', ['no-admin-mode']]);
    assert.deepEqual(await effectOf(call('get_thing', { options: { mode: 'user' } })), ['allow', ['read-tools']]);
  });
  it('given a tool that changed mid-session, then only a rule naming tool-changed admits it: held', async () => {
    const { decision } = await evaluate(call('read_file', { path: '/srv/a' }, { toolChanged: true }), policy);
    assert.equal(decision.effect, 'hold');
    assert.deepEqual(decision.ruleIds, ['changed-held']);
    assert.deepEqual(decision.classes, ['tool-changed']);
  });
  it('given arguments that are not a JSON object, then the call is unparseable and blocked', async () => {
    for (const text of ['[1]', 'null', '{"a":', '"x"']) {
      const { decision } = await evaluate(command({ kind: 'mcp-tool', tool: 'read_file', arguments: text, toolChanged: false }), policy);
      assert.equal(decision.effect, 'block', text);
      assert.match(decision.reasons[0]!, /^unparseable/);
    }
  });
  it('given an mcp call claiming another protocol, then it is blocked', async () => {
    const { decision } = await evaluate(call('read_file', {}, { protocol: 'http' }), policy);
    assert.equal(decision.effect, 'block');
  });
  it('analysis flattens nested arguments under dotted paths and bounds depth', () => {
    const a = analyzeMcpToolCall({ kind: 'mcp-tool', tool: 't', arguments: JSON.stringify({ a: { b: [1, 'x'] }, c: null }), toolChanged: false });
    assert.ok(a.ok);
    assert.deepEqual(a.ok && a.arguments.map((v) => [v.path, v.value]), [['a.b', '1'], ['a.b', 'x'], ['c', 'null']]);
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = { d: deep };
    assert.equal(analyzeMcpToolCall({ kind: 'mcp-tool', tool: 't', arguments: JSON.stringify(deep), toolChanged: false }).ok, false);
  });
  it('spellings: a path-like value also as the path it resolves to', () => {
    assert.deepEqual(spellingsOf('plain'), ['plain']);
    assert.deepEqual(spellingsOf('/a/../b/'), ['/a/../b/', '/b']);
    assert.deepEqual(spellingsOf('%2Fetc%2Fshadow'), ['%2Fetc%2Fshadow', '/etc/shadow']);
  });
});

describe('via', () => {
  it('given a rule on via: mcp, then it matches commands that came through MCP only', async () => {
    const viaMcp = await evaluate(sql('SELECT 1', { via: 'mcp' }), policy);
    assert.deepEqual([viaMcp.decision.effect, viaMcp.decision.ruleIds], ['block', ['no-sql-from-mcp-on-production']]);
    const direct = await evaluate(sql('SELECT 1'), policy);
    assert.deepEqual([direct.decision.effect, direct.decision.ruleIds], ['allow', ['sql-read']]);
  });
  it('given via: direct, then only commands without via match', async () => {
    const state = givenPolicy(`apiVersion: portcullis/v1\nrules:\n  - { id: d, effect: allow, match: { via: direct } }\n`);
    assert.equal((await evaluate(sql('SELECT 1'), state)).decision.effect, 'allow');
    assert.equal((await evaluate(sql('SELECT 1', { via: 'mcp' }), state)).decision.effect, 'block');
  });
  it('the document refuses mcp conditions on a rule for another protocol and unknown via values', () => {
    const bad = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - { id: x, effect: allow, match: { protocol: ssh, mcp: { tools: [a] } } }\n', 'p.yaml');
    assert.equal(bad.ok, false);
    const via = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - { id: x, effect: allow, match: { via: browser } }\n', 'p.yaml');
    assert.equal(via.ok, false);
  });
});

describe('listing tools', () => {
  const who = { identity: service, resource: mcpServer };
  it('lists tools an allow rule could admit, hides those a block refuses whatever the arguments', () => {
    assert.equal(mcpToolListed(policy, who, 'read_file'), true);
    assert.equal(mcpToolListed(policy, who, 'write_file'), true, 'admitted for some arguments');
    assert.equal(mcpToolListed(policy, who, 'delete_file'), false);
    assert.equal(mcpToolListed(policy, who, 'run_shell'), false, 'no rule admits it and the default is block');
  });
  it('a human the read rule does not name does not see read tools', () => {
    assert.equal(mcpToolListed(policy, { identity: human, resource: mcpServer }, 'read_file'), false);
  });
  it('no policy: nothing listed', () => {
    assert.equal(mcpToolListed(givenPolicy(), who, 'read_file'), false);
  });
});
