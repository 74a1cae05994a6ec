import { createHmac, randomBytes } from 'node:crypto';
import type { Detector } from '@portcullis/schemas';
import { ALL_DETECTORS, DetectorSet, findSensitive } from './find-sensitive.ts';
import { countMasked } from './mask-counts.ts';
import { maskFinding } from './shapes.ts';

/** The `detector` label of a whole protected value (a masked column or field), whatever its content. */
export const FIELD_DETECTOR_LABEL = 'field';

const EVERY_DETECTOR = new DetectorSet(ALL_DETECTORS);

export type ValueMaskStrategy = 'partial' | 'redact' | 'null' | 'hash';

/** The fixed replacement of strategy 'redact'. */
export const REDACTED = '****';

// Per-process key: equal values hash equally within one run of the gateway, so
// a reader can still join or count them, but a hash cannot be checked offline
// against a list of candidate values (a plain SHA-256 of an e-mail or card can).
const HASH_KEY = randomBytes(32);

/**
 * Masks the whole value of a protected column or field.
 * - partial: the shape of what the value is (e-mail, card, IBAN, SSN, phone,
 *   secret kind) when the whole value is one such item, recognised with every
 *   detector: a protected value is masked whatever detectors the policy lists,
 *   so `detectors` does not narrow recognition (it is accepted so every masker
 *   takes the same arguments). Any other value keeps its first character and
 *   its length.
 * - redact: always `****`, so not even the length is disclosed.
 * - hash: `sha256:` + 16 hex digits of HMAC-SHA256 under the per-process key.
 * - null: null.
 */
export function maskValue(value: string, strategy: 'null', detectors?: readonly Detector[]): null;
export function maskValue(value: string, strategy: 'partial' | 'redact' | 'hash', detectors?: readonly Detector[]): string;
export function maskValue(value: string, strategy: ValueMaskStrategy, detectors?: readonly Detector[]): string | null;
export function maskValue(value: string, strategy: ValueMaskStrategy, _detectors: readonly Detector[] = ALL_DETECTORS): string | null {
  countMasked(FIELD_DETECTOR_LABEL);
  switch (strategy) {
    case 'null':
      return null;
    case 'redact':
      return REDACTED;
    case 'hash':
      return hashValue(value);
    case 'partial':
      return maskPartial(value);
    default: {
      const unreachable: never = strategy;
      throw new Error(`unknown mask strategy ${String(unreachable)}`);
    }
  }
}

export function hashValue(value: string): string {
  return `sha256:${createHmac('sha256', HASH_KEY).update(value, 'utf8').digest('hex').slice(0, 16)}`;
}

function maskPartial(value: string): string {
  const trimmed = value.trim();
  const findings = findSensitive(trimmed, EVERY_DETECTOR);
  const whole = findings.length === 1 && findings[0]!.start === 0 && findings[0]!.end === trimmed.length ? findings[0]! : null;
  if (whole !== null) return maskFinding(trimmed, whole);
  const chars = Array.from(value); // code points, so a surrogate pair is not split
  if (chars.length <= 1) return '*'.repeat(chars.length);
  return chars[0]! + '*'.repeat(chars.length - 1);
}
