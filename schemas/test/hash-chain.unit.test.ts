import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, computeDigest, GENESIS_DIGEST, SessionChain, verifyChain } from '../src/hash-chain.ts';

const events = () => {
  const chain = new SessionChain();
  return [1, 2, 3, 4].map((n) => chain.next({ type: 'CommandCompleted', sessionId: 's', eventId: `e${n}`, rows: n }));
};

test('canonical JSON sorts keys at every depth and drops undefined', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
});

test('canonical JSON: keys in UTF-16 code unit order (digits, capitals, non-ASCII, astral), escapes and numbers as JSON.stringify writes them', () => {
  // The digest of every recorded event depends on this exact text: a change here breaks every stored chain.
  const value = { 'é': 1, Z: [undefined, null, -0, 1e21, 0.1, 'a"\\\n\u2028\u0001'], a: { '😀': true, '\u0000': false, 'ａ': {}, b: [], c: undefined }, '10': 'x', '9': 'y', B: [[{ y: 1, x: [{}] }]] };
  assert.equal(canonicalJson(value), '{"10":"x","9":"y","B":[[{"x":[{}],"y":1}]],"Z":[null,null,0,1e+21,0.1,"a\\"\\\\\\n\u2028\\u0001"],"a":{"\\u0000":false,"b":[],"😀":true,"ａ":{}},"é":1}');
  assert.throws(() => canonicalJson({ a: [Number.NaN] }), /non-finite/);
});

test('the chain numbers events 1..n and links each digest to the previous one', () => {
  const es = events();
  assert.deepEqual(es.map((e) => e.seq), [1, 2, 3, 4]);
  assert.equal(es[0]!.digest, computeDigest(GENESIS_DIGEST, es[0]!));
  assert.equal(es[1]!.digest, computeDigest(es[0]!.digest, es[1]!));
  assert.deepEqual(verifyChain(es), { integrity: 'ok', lastSeq: 4 });
});

test('verification accepts any arrival order and identical duplicates', () => {
  const es = events();
  assert.deepEqual(verifyChain([es[3]!, es[1]!, es[0]!, es[2]!, es[1]!]), { integrity: 'ok', lastSeq: 4 });
});

test('a missing event is reported as a gap naming the first missing seq', () => {
  const es = events();
  assert.deepEqual(verifyChain([es[0]!, es[2]!, es[3]!]), { integrity: 'gap', missingSeq: 2, lastSeq: 4 });
});

test('an altered event is reported as tampered, naming it', () => {
  const es = events();
  const altered = { ...es[2]!, rows: 999 };
  const v = verifyChain([es[0]!, es[1]!, altered, es[3]!]);
  assert.equal(v.integrity, 'tampered');
  assert.equal(v.integrity === 'tampered' && v.eventId, 'e3');
});

test('a re-chained forgery is caught at the first altered event', () => {
  const es = events();
  const forged = { ...es[1]!, rows: 0 };
  forged.digest = computeDigest(es[0]!.digest, forged);
  // The forger recomputed event 2's digest, but event 3 still chains to the original.
  const v = verifyChain([es[0]!, forged, es[2]!, es[3]!]);
  assert.equal(v.integrity, 'tampered');
  assert.equal(v.integrity === 'tampered' && v.seq, 3);
});
