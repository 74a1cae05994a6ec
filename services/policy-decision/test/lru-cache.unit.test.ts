import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruCache } from '../src/lru-cache.ts';

test('given a full cache, when a new entry comes, then the least recently used one goes (a hit counts as a use)', () => {
  const cache = new LruCache<string, number>(2);
  cache.set('a', 1);
  cache.set('b', 2);
  assert.equal(cache.get('a'), 1);
  cache.set('c', 3);
  assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], [1, undefined, 3]);
});

test('given size 0 or a resize, then nothing is kept from before', () => {
  const off = new LruCache<string, number>(0);
  off.set('a', 1);
  assert.equal(off.get('a'), undefined);
  const cache = new LruCache<string, number>(2);
  cache.set('a', 1);
  cache.resize(5);
  assert.equal(cache.get('a'), undefined);
  cache.set('a', 2);
  assert.equal(cache.get('a'), 2);
});
