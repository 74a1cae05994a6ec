import type { Detector } from '@portcullis/schemas';
import { findSensitive, type DetectorSet } from './find-sensitive.ts';
import { countMasked } from './mask-counts.ts';
import { maskFinding } from './shapes.ts';

/** Replaces every finding of the given detectors in `text` with its shape-preserving mask. */
export function maskText(text: string, detectors: readonly Detector[] | DetectorSet): string {
  const findings = findSensitive(text, detectors);
  if (findings.length === 0) return text;
  let out = '';
  let at = 0;
  for (const f of findings) {
    countMasked(f.detector);
    out += text.slice(at, f.start) + maskFinding(text.slice(f.start, f.end), f);
    at = f.end;
  }
  return out + text.slice(at);
}
