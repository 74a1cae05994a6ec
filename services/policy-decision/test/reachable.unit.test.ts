import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { Identity, ResourceRef } from '@portcullis/schemas';
import { policyStateFromDocument, withKnownResources } from '../src/policy/state.ts';
import { reachableResources } from '../src/reachable.ts';

const example = readFileSync(new URL('../../../policies/examples/automation-access.yaml', import.meta.url), 'utf8');
const loaded = policyStateFromDocument(example, 'automation-access.yaml');
assert.ok(loaded.ok);
const state = loaded.state;

const resources: ResourceRef[] = [
  { name: 'demo', kind: 'postgres', tags: ['production', 'pii'] },
  { name: 'demo-host', kind: 'ssh', tags: ['production'] },
  { name: 'demo-cluster', kind: 'kubernetes', tags: ['production'] },
];
const who = (kind: Identity['kind'], groups: string[]): Identity => ({ subject: 'x', issuer: 'http://127.0.0.1:9400', kind, groups });
const names = (identity: Identity, s = state) => reachableResources(s, identity, resources).map((r) => r.resource.name);

test('given the example policy, when an agent asks, then it reaches the database, the host and the cluster', () => {
  assert.deepEqual(names(who('service', ['agents'])), ['demo', 'demo-host', 'demo-cluster']);
});

test('given the example policy, when a DBA asks, then only the database is listed, with the rules that admit her', () => {
  const [db, ...rest] = reachableResources(state, who('human', ['dba']), resources);
  assert.equal(rest.length, 0);
  assert.equal(db!.resource.name, 'demo');
  assert.deepEqual(db!.rules.map((r) => `${r.effect}:${r.id}`), ['allow:dba-all', 'hold:dba-destructive-production']);
});

test('given a person in no group the policy names, when they ask, then only what a hold rule admits is listed (with approval)', () => {
  const reachable = reachableResources(state, who('human', ['marketing']), resources);
  assert.deepEqual(reachable.map((r) => [r.resource.name, r.rules.map((x) => `${x.effect}:${x.id}`)]), [['demo', ['hold:dba-destructive-production']]]);
});

test('given known resources, when a resource is not among them, then it is left out', () => {
  assert.deepEqual(names(who('service', ['agents']), withKnownResources(state, ['demo'])), ['demo']);
});

test('given no policy yet, when anyone asks, then nothing is listed (fail closed)', () => {
  assert.deepEqual(reachableResources({ version: 0 }, who('service', []), resources), []);
});
