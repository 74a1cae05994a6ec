import type { Detector, MaskSpec } from '@portcullis/schemas';
import { batchMaskCounts, DetectorSet, maskText, maskValue } from '@portcullis/kit';

/**
 * Masking of JSON documents (docs/protocols/http.md#masking).
 *
 * - `fields`: a bare name (`email`) masks that key at any depth; a dotted path
 *   (`billing.card_number`, `items.*.ssn`) masks from the document root, with
 *   arrays transparent and `*` matching any key. Everything under a masked
 *   key is masked (strings with maskValue 'partial', numbers and booleans
 *   become masked strings, null stays null).
 * - `detectors`: every other string value is scanned and its findings masked,
 *   and so is every object key (a document keyed by e-mail address would
 *   leak otherwise). A masked key that equals a key of the same object gets a
 *   suffix `#2`, `#3`, … so no member is lost.
 * - Kubernetes Secrets: `data` / `stringData` values of any object whose
 *   `kind` is Secret — or of every object, when the request was for the
 *   secrets resource (list items and watch events carry no kind) — are
 *   replaced: `data` by base64("****") so typed clients still decode it,
 *   `stringData` by "****".
 */
export interface JsonMaskPlan {
  fields: string[];
  detectors: Detector[];
  /** Mask Secret values on objects with kind Secret. */
  secrets: boolean;
  /** The response is about the secrets resource: every object with data/stringData is a Secret. */
  secretResource: boolean;
}

export const MASKED_SECRET_DATA = Buffer.from('****').toString('base64');
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

export function planFromMask(mask: MaskSpec | undefined, secrets: { secrets: boolean; secretResource: boolean }): JsonMaskPlan {
  return { fields: mask?.fields ?? [], detectors: mask?.detectors ?? [], ...secrets };
}

export function planIsEmpty(plan: JsonMaskPlan): boolean {
  return plan.fields.length === 0 && plan.detectors.length === 0 && !plan.secrets;
}

/** Masks a copy of `value`; the caller's value is left as it was. */
export function maskJson(value: unknown, plan: JsonMaskPlan): unknown {
  return maskJsonInPlace(structuredClone(value), plan);
}

/**
 * Masks a parsed document in place (objects and arrays are changed, an object
 * whose keys are masked is replaced) and returns the masked document. For
 * documents the caller owns, e.g. fresh from JSON.parse: nothing is rebuilt
 * that needs no change.
 */
export function maskJsonInPlace(value: unknown, plan: JsonMaskPlan): unknown {
  const compiled = compile(plan);
  return batchMaskCounts(() => maskNode(value, compiled.paths, compiled));
}

/**
 * Where the walk stands among the dotted paths: the state after the keys
 * from the root so far (a deterministic automaton over keys, built once per
 * plan from the paths' trie, so a key costs one map lookup whatever the
 * number of paths). null: no path can match below.
 */
interface PathState {
  /** The path ends here: the value under this key is masked whole. */
  matches: boolean;
  byKey: ReadonlyMap<string, PathState | null>;
  /** For keys not in byKey (the paths' `*`). */
  other: PathState | null;
}

interface CompiledPlan {
  names: ReadonlySet<string>;
  paths: PathState | null;
  /** null when no detector is asked for, so nothing is scanned. */
  detectors: DetectorSet | null;
  /** Keys these detectors found nothing in (keys repeat in every record of a list). */
  cleanKeys: Set<string>;
  secrets: boolean;
  secretResource: boolean;
}

// Compiled once per plan object: a document's walk and a stream's lines share it.
const compiledPlans = new WeakMap<JsonMaskPlan, CompiledPlan>();

function compile(plan: JsonMaskPlan): CompiledPlan {
  let compiled = compiledPlans.get(plan);
  if (compiled === undefined) {
    const dotted = plan.fields.filter((f) => f.includes('.')).map((f) => f.split('.'));
    compiled = {
      names: new Set(plan.fields.filter((f) => !f.includes('.'))),
      paths: determinise([trieOf(dotted)], new Map()),
      detectors: plan.detectors.length > 0 ? new DetectorSet(plan.detectors) : null,
      cleanKeys: cleanKeysFor(plan.detectors),
      secrets: plan.secrets,
      secretResource: plan.secretResource,
    };
    compiledPlans.set(plan, compiled);
  }
  return compiled;
}

// Per set of detectors, shared by the plans of every request: the keys a
// response's objects use are few and the same from one response to the next.
// Bounded: short keys only, and the set starts over when full.
const cleanKeySets = new Map<string, Set<string>>();
const MAX_CLEAN_KEY_LENGTH = 64;
const MAX_CLEAN_KEYS = 4096;

function cleanKeysFor(detectors: readonly Detector[]): Set<string> {
  const id = [...new Set(detectors)].sort().join(',');
  let keys = cleanKeySets.get(id);
  if (keys === undefined) cleanKeySets.set(id, (keys = new Set()));
  return keys;
}

interface TrieNode { id: number; end: boolean; children: Map<string, TrieNode>; star: TrieNode | null }

function trieOf(paths: readonly string[][]): TrieNode {
  let ids = 0;
  const node = (): TrieNode => ({ id: ids++, end: false, children: new Map(), star: null });
  const root = node();
  for (const path of paths) {
    let at = root;
    for (const part of path) {
      if (part === '*') at = at.star ??= node();
      else {
        let next = at.children.get(part);
        if (next === undefined) at.children.set(part, (next = node()));
        at = next;
      }
    }
    at.end = true;
  }
  return root;
}

/** The automaton state for being at every one of `nodes` at once (subset construction). */
function determinise(nodes: readonly TrieNode[], built: Map<string, PathState>): PathState | null {
  if (nodes.length === 0) return null;
  const id = nodes.map((n) => n.id).sort((a, b) => a - b).join(',');
  const known = built.get(id);
  if (known !== undefined) return known;
  const byKey = new Map<string, PathState | null>();
  const state: PathState = { matches: nodes.some((n) => n.end), byKey, other: null };
  built.set(id, state);
  const stars = nodes.flatMap((n) => (n.star === null ? [] : [n.star]));
  for (const key of new Set(nodes.flatMap((n) => [...n.children.keys()]))) {
    byKey.set(key, determinise(unique([...nodes.flatMap((n) => n.children.get(key) ?? []), ...stars]), built));
  }
  state.other = determinise(unique(stars), built);
  return state;
}

const unique = <T>(items: T[]): T[] => [...new Set(items)];

function step(state: PathState | null, key: string): PathState | null {
  if (state === null) return null;
  const next = state.byKey.get(key);
  return next === undefined ? state.other : next;
}

function maskNode(value: unknown, state: PathState | null, plan: CompiledPlan): unknown {
  if (typeof value === 'string') return plan.detectors === null ? value : maskText(value, plan.detectors);
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const masked = maskNode(item, state, plan);
      if (masked !== item) value[i] = masked;
    }
    return value;
  }
  const obj = value as Record<string, unknown>;
  const isSecret = plan.secrets && (obj.kind === 'Secret' || (plan.secretResource && (isRecord(obj.data) || isRecord(obj.stringData))));
  const keys = Object.keys(obj);
  for (const key of keys) {
    const v = obj[key];
    let masked: unknown;
    if (isSecret && (key === 'data' || key === 'stringData') && isRecord(v)) {
      const replacement = key === 'data' ? MASKED_SECRET_DATA : '****';
      for (const k of Object.keys(v)) v[k] = replacement;
      masked = maskKeys(v, Object.keys(v), plan);
    } else if (isSecret && key === 'metadata' && isRecord(v)) {
      maskLastApplied(v);
      masked = maskNode(v, step(state, key), plan);
    } else {
      const next = step(state, key);
      masked = plan.names.has(key) || next?.matches === true ? maskWhole(v, plan) : maskNode(v, next, plan);
    }
    if (masked !== v) obj[key] = masked;
  }
  return maskKeys(obj, keys, plan);
}

/** kubectl apply keeps the whole applied Secret (values included) in an annotation. */
function maskLastApplied(metadata: Record<string, unknown>): void {
  const annotations = metadata.annotations;
  if (isRecord(annotations) && typeof annotations[LAST_APPLIED] === 'string') annotations[LAST_APPLIED] = '****';
}

function maskWhole(value: unknown, plan: CompiledPlan): unknown {
  if (value === null) return null;
  if (typeof value === 'string') return maskValue(value, 'partial');
  if (typeof value === 'number' || typeof value === 'boolean') return maskValue(String(value), 'partial');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = maskWhole(value[i], plan);
    return value;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    for (const key of keys) obj[key] = maskWhole(obj[key], plan);
    return maskKeys(obj, keys, plan);
  }
  return value;
}

/**
 * Applies the detectors to the keys of `obj`. Unchanged when no key has a
 * finding (the common case: one scan per key, no allocation); otherwise a new
 * object with the same members in the same order, masked keys renamed. A
 * masked key never takes the name of a key left as it was or of an earlier
 * masked key: it gets the first free suffix `#2`, `#3`, …
 */
function maskKeys(obj: Record<string, unknown>, keys: readonly string[], plan: CompiledPlan): Record<string, unknown> {
  if (plan.detectors === null) return obj;
  let maskedKeys: string[] | null = null;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (plan.cleanKeys.has(key)) continue;
    const masked = maskText(key, plan.detectors);
    if (masked === key) {
      if (key.length <= MAX_CLEAN_KEY_LENGTH) {
        if (plan.cleanKeys.size >= MAX_CLEAN_KEYS) plan.cleanKeys.clear();
        plan.cleanKeys.add(key);
      }
      continue;
    }
    maskedKeys ??= keys.slice();
    maskedKeys[i] = masked;
  }
  if (maskedKeys === null) return obj;
  const taken = new Set(keys.filter((k, i) => maskedKeys[i] === k));
  const entries: [string, unknown][] = [];
  for (let i = 0; i < keys.length; i++) {
    let name = maskedKeys[i]!;
    if (name !== keys[i]) {
      if (taken.has(name)) {
        let n = 2;
        while (taken.has(`${name}#${n}`)) n++;
        name = `${name}#${n}`;
      }
      taken.add(name);
    }
    entries.push([name, obj[keys[i]!]]);
  }
  // fromEntries defines own properties, so a key named __proto__ stays a member.
  return Object.fromEntries(entries);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
