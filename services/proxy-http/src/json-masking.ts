import type { Detector, MaskSpec } from '@portcullis/schemas';
import { maskText, maskValue } from '@portcullis/kit';

/**
 * Masking of JSON documents (docs/protocols/http.md#masking).
 *
 * - `fields`: a bare name (`email`) masks that key at any depth; a dotted path
 *   (`billing.card_number`, `items.*.ssn`) masks from the document root, with
 *   arrays transparent and `*` matching any key. Everything under a masked
 *   key is masked (strings with maskValue 'partial', numbers and booleans
 *   become masked strings, null stays null).
 * - `detectors`: every other string value is scanned and its findings masked.
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

export function planFromMask(mask: MaskSpec | undefined, secrets: { secrets: boolean; secretResource: boolean }): JsonMaskPlan {
  return { fields: mask?.fields ?? [], detectors: mask?.detectors ?? [], ...secrets };
}

export function planIsEmpty(plan: JsonMaskPlan): boolean {
  return plan.fields.length === 0 && plan.detectors.length === 0 && !plan.secrets;
}

export function maskJson(value: unknown, plan: JsonMaskPlan): unknown {
  const names = new Set(plan.fields.filter((f) => !f.includes('.')));
  const paths = plan.fields.filter((f) => f.includes('.')).map((f) => f.split('.'));
  return walk(value, [], names, paths, plan);
}

function pathMatches(path: readonly string[], pattern: readonly string[]): boolean {
  if (path.length !== pattern.length) return false;
  return pattern.every((p, i) => p === '*' || p === path[i]);
}

function walk(value: unknown, path: string[], names: Set<string>, paths: string[][], plan: JsonMaskPlan): unknown {
  if (typeof value === 'string') return plan.detectors.length > 0 ? maskText(value, plan.detectors) : value;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => walk(v, path, names, paths, plan));
  const obj = value as Record<string, unknown>;
  const isSecret = plan.secrets && (obj.kind === 'Secret' || (plan.secretResource && (isRecord(obj.data) || isRecord(obj.stringData))));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(obj)) {
    const childPath = [...path, key];
    if (isSecret && (key === 'data' || key === 'stringData') && isRecord(v)) {
      out[key] = Object.fromEntries(Object.keys(v).map((k) => [k, key === 'data' ? MASKED_SECRET_DATA : '****']));
    } else if (isSecret && key === 'metadata' && isRecord(v)) {
      out[key] = walk(maskLastApplied(v), childPath, names, paths, plan);
    } else if (names.has(key) || paths.some((p) => pathMatches(childPath, p))) {
      out[key] = maskWhole(v);
    } else {
      out[key] = walk(v, childPath, names, paths, plan);
    }
  }
  return out;
}

/** kubectl apply keeps the whole applied Secret (values included) in an annotation. */
function maskLastApplied(metadata: Record<string, unknown>): Record<string, unknown> {
  const annotations = metadata.annotations;
  if (!isRecord(annotations) || typeof annotations['kubectl.kubernetes.io/last-applied-configuration'] !== 'string') return metadata;
  return { ...metadata, annotations: { ...annotations, 'kubectl.kubernetes.io/last-applied-configuration': '****' } };
}

function maskWhole(value: unknown): unknown {
  if (value === null) return null;
  if (typeof value === 'string') return maskValue(value, 'partial');
  if (typeof value === 'number' || typeof value === 'boolean') return maskValue(String(value), 'partial');
  if (Array.isArray(value)) return value.map(maskWhole);
  if (typeof value === 'object') return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, maskWhole(v)]));
  return value;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
