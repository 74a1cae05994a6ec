/** Policy documents: validation errors name file, line and field; the policy state evolves from PolicySetPublished. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePolicyDocument } from '../src/policy/document.ts';
import { evolvePolicyState, initialPolicyState } from '../src/policy/state.ts';
import { published } from './given.ts';
import { readOnlyAutomation } from './policies.ts';

describe('parsePolicyDocument', () => {
  it('accepts the shipped example policy', () => {
    const text = readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8');
    const parsed = parsePolicyDocument(text, 'automation-access.yaml');
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
    assert.equal(parsed.policy.defaultEffect, 'block');
  });

  it('defaults: defaultEffect block, mask strategy partial, quorum 1', () => {
    const parsed = parsePolicyDocument(
      'apiVersion: portcullis/v1\nrules:\n  - { id: m, effect: mask, mask: { columns: [customers.email] } }\n  - { id: h, effect: hold, approval: { approverGroups: [dba], ttl: 15m } }\n',
      'p.yaml',
    );
    assert.ok(parsed.ok);
    assert.equal(parsed.policy.defaultEffect, 'block');
    assert.deepEqual(parsed.policy.rules[0]!.mask?.columns, [{ table: 'customers', column: 'email', strategy: 'partial' }]);
    assert.deepEqual(parsed.policy.rules[1]!.approval, { approverGroups: ['dba'], quorum: 1, ttl: 900 });
  });

  it('names file, line and field of a bad value', () => {
    const text = ['apiVersion: portcullis/v1', 'rules:', '  - id: r1', '    effect: allow', '    match:', '      sql:', '        classes: [read, delete]', ''].join('\n');
    const parsed = parsePolicyDocument(text, 'policies/p.yaml');
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok);
    assert.equal(parsed.errors.length, 1);
    assert.deepEqual({ ...parsed.errors[0], message: undefined }, { file: 'policies/p.yaml', line: 7, path: 'rules[0].match.sql.classes[1]', message: undefined });
    assert.match(parsed.errors[0]!.message, /read|write/);
  });

  it('HTTP request classes and header matchers: unknown classes and bad header names are named', () => {
    const ok = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - { id: r, effect: allow, match: { http: { classes: [impersonate], headers: { Impersonate-User: "dev-*", "impersonate-extra-*": [a, b] } } } }\n', 'p.yaml');
    assert.ok(ok.ok, JSON.stringify(!ok.ok && ok.errors));
    assert.deepEqual(ok.policy.rules[0]!.match.http?.headers, { 'Impersonate-User': ['dev-*'], 'impersonate-extra-*': ['a', 'b'] });
    const badClass = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - id: r\n    effect: allow\n    match: { http: { classes: [proxies] } }\n', 'p.yaml');
    assert.ok(!badClass.ok);
    assert.equal(badClass.errors[0]!.path, 'rules[0].match.http.classes[0]');
    assert.match(badClass.errors[0]!.message, /proxy/);
    const badHeader = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - { id: r, effect: block, match: { http: { headers: { "Impersonate User": x } } } }\n', 'p.yaml');
    assert.ok(!badHeader.ok);
    assert.match(badHeader.errors[0]!.path, /^rules\[0\]\.match\.http\.headers/);
  });

  it('names unknown fields (typos) at their line', () => {
    const text = 'apiVersion: portcullis/v1\nrules:\n  - id: r1\n    effect: block\n    match:\n      identiy: { kind: service }\n';
    const parsed = parsePolicyDocument(text, 'p.yaml');
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.errors, [{ file: 'p.yaml', line: 6, path: 'rules[0].match.identiy', message: 'unknown field "identiy"' }]);
  });

  it('rules that need more: mask without columns, hold without approval, duplicate ids', () => {
    const text = [
      'apiVersion: portcullis/v1',
      'rules:',
      '  - id: a',
      '    effect: mask',
      '  - id: a',
      '    effect: hold',
      '',
    ].join('\n');
    const parsed = parsePolicyDocument(text, 'p.yaml');
    assert.ok(!parsed.ok);
    const byPath = Object.fromEntries(parsed.errors.map((e) => [e.path, e]));
    assert.equal(byPath['rules[0].mask']?.line, 3);
    assert.match(byPath['rules[1].id']!.message, /duplicate rule id "a"/);
    assert.equal(byPath['rules[1].id']!.line, 5);
    assert.match(byPath['rules[1].approval']!.message, /approval/);
  });

  it('reports YAML syntax errors with their line', () => {
    const parsed = parsePolicyDocument('apiVersion: portcullis/v1\nrules:\n  - id: [unclosed\n', 'p.yaml');
    assert.ok(!parsed.ok);
    assert.equal(parsed.errors[0]!.file, 'p.yaml');
    assert.ok(parsed.errors[0]!.line >= 3);
  });

  it('missing required fields point at the enclosing node', () => {
    const parsed = parsePolicyDocument('rules: []\n', 'p.yaml');
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.errors.map((e) => [e.path, e.line]), [['apiVersion', 1]]);
  });
});

describe('evolvePolicyState', () => {
  it('a valid document becomes the running version', () => {
    const s = evolvePolicyState(initialPolicyState, published(readOnlyAutomation, 3));
    assert.equal(s.version, 3);
    assert.equal(s.policy?.rules.length, 4);
    assert.equal(s.rejected, undefined);
  });
  it('an invalid document leaves the running version in place and reports the errors', () => {
    const good = evolvePolicyState(initialPolicyState, published(readOnlyAutomation, 1));
    const after = evolvePolicyState(good, published('apiVersion: portcullis/v1\nrules:\n  - id: x\n    effect: maybe\n', 2));
    assert.equal(after.version, 1);
    assert.equal(after.policy, good.policy);
    assert.equal(after.rejected?.version, 2);
    assert.deepEqual(after.rejected?.errors.map((e) => [e.file, e.line, e.path]), [['default@2', 4, 'rules[0].effect']]);
  });
  it('replaying the same event is a no-op; an older version is rejected', () => {
    const s = evolvePolicyState(initialPolicyState, published(readOnlyAutomation, 2));
    assert.equal(evolvePolicyState(s, published(readOnlyAutomation, 2)), s);
    const older = evolvePolicyState(s, published(readOnlyAutomation, 1));
    assert.equal(older.version, 2);
    assert.match(older.rejected!.errors[0]!.message, /not newer/);
  });
});
