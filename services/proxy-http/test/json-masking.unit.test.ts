import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { ALL_DETECTORS, maskText, maskValue } from '@portcullis/kit';
import { int, pick, seededRandom, sensitiveText, type Random } from '@portcullis/kit/test-support';
import type { Detector } from '@portcullis/schemas';
import { MASKED_SECRET_DATA, maskJson, type JsonMaskPlan } from '../src/json-masking.ts';
import { LineMasker, maskJsonText } from '../src/response-masking.ts';

const SEED = Number(process.env.MASKING_PROPERTY_SEED ?? 20261203);
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

// --- The reference: the masking rules of docs/protocols/http.md, written plainly on a fresh copy ----------

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function referenceMask(value: unknown, plan: JsonMaskPlan, path: string[] = []): unknown {
  if (typeof value === 'string') return plan.detectors.length > 0 ? maskText(value, plan.detectors) : value;
  if (Array.isArray(value)) return value.map((v) => referenceMask(v, plan, path));
  if (!isRecord(value)) return value;
  const isSecret = plan.secrets && (value.kind === 'Secret' || (plan.secretResource && (isRecord(value.data) || isRecord(value.stringData))));
  const names = plan.fields.filter((f) => !f.includes('.'));
  const paths = plan.fields.filter((f) => f.includes('.')).map((f) => f.split('.'));
  const entries: [string, unknown][] = Object.entries(value).map(([key, v]) => {
    const childPath = [...path, key];
    if (isSecret && (key === 'data' || key === 'stringData') && isRecord(v)) {
      return [key, referenceKeys(Object.keys(v).map((k) => [k, key === 'data' ? MASKED_SECRET_DATA : '****']), plan)];
    }
    if (isSecret && key === 'metadata' && isRecord(v)) {
      const annotations = v.annotations;
      const cut = isRecord(annotations) && typeof annotations[LAST_APPLIED] === 'string' ? { ...v, annotations: { ...annotations, [LAST_APPLIED]: '****' } } : v;
      return [key, referenceMask(cut, plan, childPath)];
    }
    const byPath = paths.some((p) => p.length === childPath.length && p.every((part, i) => part === '*' || part === childPath[i]));
    if (names.includes(key) || byPath) return [key, referenceWhole(v, plan)];
    return [key, referenceMask(v, plan, childPath)];
  });
  return referenceKeys(entries, plan);
}

function referenceWhole(value: unknown, plan: JsonMaskPlan): unknown {
  if (value === null) return null;
  if (typeof value === 'string') return maskValue(value, 'partial');
  if (typeof value === 'number' || typeof value === 'boolean') return maskValue(String(value), 'partial');
  if (Array.isArray(value)) return value.map((v) => referenceWhole(v, plan));
  return referenceKeys(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, referenceWhole(v, plan)]), plan);
}

/** Keys masked with the detectors; a masked key equal to a kept key or an earlier masked one gets #2, #3, … */
function referenceKeys(entries: [string, unknown][], plan: JsonMaskPlan): Record<string, unknown> {
  if (plan.detectors.length === 0) return Object.fromEntries(entries);
  const masked = entries.map(([k]) => maskText(k, plan.detectors));
  const used = new Set(entries.map(([k]) => k).filter((k, i) => masked[i] === k));
  return Object.fromEntries(entries.map(([k, v], i) => {
    let name = masked[i]!;
    if (name !== k) {
      for (let n = 2; used.has(name); n++) name = `${masked[i]!}#${n}`;
      used.add(name);
    }
    return [name, v];
  }));
}

// --- Generated documents and plans -------------------------------------------------------------------------

const KEYS = [
  'email', 'billing', 'card_number', 'items', 'ssn', 'name', 'notes', 'id', 'kind', 'data', 'stringData', 'metadata', 'annotations',
  LAST_APPLIED, 'alice@example.com', 'amy@example.com', 'a***@example.com', 'a***@example.com#2', '4111111111111111', '__proto__',
  'constructor', '', 'é', '😀', 'password', 'a.b', '*',
];

function generatedValue(rnd: Random, depth: number): unknown {
  const r = rnd();
  if (depth >= 4 || r < 0.45) return scalar(rnd);
  if (r < 0.6) return Array.from({ length: int(rnd, 0, 4) }, () => generatedValue(rnd, depth + 1));
  const obj: Record<string, unknown> = {};
  const n = int(rnd, 0, 6);
  for (let i = 0; i < n; i++) {
    const key = rnd() < 0.75 ? pick(rnd, KEYS) : sensitiveText(rnd, int(rnd, 1, 2));
    Object.defineProperty(obj, key, { value: key === 'kind' && rnd() < 0.5 ? 'Secret' : generatedValue(rnd, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return obj;
}

function scalar(rnd: Random): unknown {
  return pick(rnd, [
    () => sensitiveText(rnd),
    () => sensitiveText(rnd),
    () => int(rnd, -1e6, 1e6),
    () => pick(rnd, [0, -0, 1.5e-7, 4111111111111111, 1e21, 3.14, -42.5]),
    () => rnd() < 0.5,
    () => null,
  ])();
}

function generatedPlan(rnd: Random): JsonMaskPlan {
  const fields = ['email', 'billing.card_number', 'items.*.ssn', '*.email', 'data', 'metadata.annotations', 'a.b', '*', 'items.*.*', 'name'].filter(() => rnd() < 0.25);
  const detectors: Detector[] = rnd() < 0.2 ? [] : rnd() < 0.3 ? [...ALL_DETECTORS] : ALL_DETECTORS.filter(() => rnd() < 0.5);
  return { fields, detectors, secrets: rnd() < 0.5, secretResource: rnd() < 0.3 };
}

/** JSON text of `doc`, with some characters written as \u escapes (an '@' spelled \u0040 is still an '@'). */
function jsonText(doc: unknown, rnd: Random): string {
  const text = JSON.stringify(doc);
  if (rnd() < 0.5) return text;
  // '@' and digits inside strings only: outside strings '@' never occurs, and digits are left alone there.
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString && c === '\\') {
      const length = text[i + 1] === 'u' ? 6 : 2; // an escape is copied as it is
      out += text.slice(i, i + length);
      i += length - 1;
      continue;
    }
    if (c === '"') inString = !inString;
    out += inString && (c === '@' || (c >= '0' && c <= '9')) && rnd() < 0.5 ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c;
  }
  return out;
}

describe(`maskJsonText against the plain reference (seed ${SEED})`, () => {
  it('given generated documents and plans, then the masked JSON equals the reference rules applied to a fresh parse', () => {
    const rnd = seededRandom(SEED);
    for (let i = 0; i < 1500; i++) {
      const doc = { items: generatedValue(rnd, 1), [pick(rnd, KEYS)]: generatedValue(rnd, 1) };
      const plan = generatedPlan(rnd);
      const text = jsonText(doc, rnd);
      const expected = JSON.stringify(referenceMask(JSON.parse(text), plan));
      assert.equal(maskJsonText(text, plan), expected, `case ${i}: plan ${JSON.stringify(plan)} on ${text}`);
    }
  });

  it('given a caller\'s object, when masked with maskJson, then the result equals the reference and the object is left as it was', () => {
    const rnd = seededRandom(SEED + 1);
    for (let i = 0; i < 300; i++) {
      const doc = generatedValue(rnd, 0);
      const before = JSON.stringify(doc);
      const plan = generatedPlan(rnd);
      assert.equal(JSON.stringify(maskJson(doc, plan)), JSON.stringify(referenceMask(JSON.parse(before), plan)));
      assert.equal(JSON.stringify(doc), before);
    }
  });

  it('given a watch stream of generated documents cut anywhere, when masked by LineMasker, then each line equals the reference', async () => {
    const rnd = seededRandom(SEED + 2);
    for (let i = 0; i < 30; i++) {
      const plan = generatedPlan(rnd);
      const lines = Array.from({ length: int(rnd, 1, 20) }, () => JSON.stringify({ type: 'MODIFIED', object: generatedValue(rnd, 1) }));
      const stream = Buffer.from(lines.join('\n') + '\n');
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length;) {
        const next = Math.min(stream.length, at + int(rnd, 1, 300)); // cuts inside lines and inside multi-byte characters
        chunks.push(stream.subarray(at, next));
        at = next;
      }
      let out = '';
      await pipeline(Readable.from(chunks), new LineMasker(plan, 1 << 20), new Writable({ write: (c: Buffer, _e, done) => { out += c.toString(); done(); } }));
      assert.equal(out, lines.map((l) => JSON.stringify(referenceMask(JSON.parse(l), plan))).join('\n') + '\n');
    }
  });
});

describe('object keys are scanned with the detectors', () => {
  const plan: JsonMaskPlan = { fields: ['billing.card_number'], detectors: ['email', 'card'], secrets: true, secretResource: false };

  it('given a document keyed by e-mail address, when masked, then no address survives in a key', () => {
    const out = maskJsonText('{"users":{"alice@example.com":{"role":"admin"},"bob@example.org":{"role":"dev"}}}', plan);
    assert.equal(out, '{"users":{"a***@example.com":{"role":"admin"},"b***@example.org":{"role":"dev"}}}');
  });

  it('given two keys that mask alike, when masked, then both members are kept under distinct names', () => {
    const out = JSON.parse(maskJsonText('{"alice@example.com":1,"amy@example.com":2,"a***@example.com#2":3,"x":4}', plan)) as Record<string, number>;
    assert.deepEqual(out, { 'a***@example.com': 1, 'a***@example.com#3': 2, 'a***@example.com#2': 3, x: 4 });
  });

  it('given an address spelled with JSON escapes in a key, when masked, then it is masked all the same', () => {
    assert.equal(maskJsonText('{"alice\\u0040example.com":"x"}', plan), '{"a***@example.com":"x"}');
  });

  it('given keys under a masked field, in Secret data and in arrays, when masked, then they are scanned too', () => {
    const out = maskJsonText(JSON.stringify({
      billing: { card_number: { '4111111111111111': 'visa' } },
      secret: { kind: 'Secret', data: { 'alice@example.com': 'aHVudGVyMg==' } },
      list: [{ 'bob@example.org': true }],
    }), plan);
    assert.ok(!out.includes('4111111111111111') && !out.includes('alice@') && !out.includes('bob@'), out);
    assert.ok(out.includes(`"a***@example.com":"${MASKED_SECRET_DATA}"`), out);
  });

  it('given a key named __proto__, when masked, then it stays a member of the output and sets no prototype', () => {
    const out = maskJsonText('{"__proto__":{"email":"x"},"alice@example.com":{"__proto__":1}}', { ...plan, fields: ['email'] });
    assert.equal(out, '{"__proto__":{"email":"*"},"a***@example.com":{"__proto__":1}}');
  });
});
