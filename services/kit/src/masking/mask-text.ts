import type { Detector } from '@portcullis/schemas';
import { ALL_DETECTORS, findSensitive, type DetectorSet } from './find-sensitive.ts';
import { countMasked } from './mask-counts.ts';
import { maskFinding } from './shapes.ts';

// Findings per detector of one text (indexed like ALL_DETECTORS), counted once
// per text; zero again after each text.
const perDetector = new Int32Array(ALL_DETECTORS.length);

/** Replaces every finding of the given detectors in `text` with its shape-preserving mask. */
export function maskText(text: string, detectors: readonly Detector[] | DetectorSet): string {
  const findings = findSensitive(text, detectors);
  if (findings.length === 0) return text;
  const first = findings[0]!;
  if (findings.length === 1 && first.start === 0 && first.end === text.length) {
    // The whole text is one finding (a JSON value that is an address, a card, …): no slicing.
    countMasked(first.detector);
    return maskFinding(text, first);
  }
  let out = '';
  let at = 0;
  for (const f of findings) {
    perDetector[ALL_DETECTORS.indexOf(f.detector)]!++;
    out += text.slice(at, f.start) + maskFinding(text.slice(f.start, f.end), f);
    at = f.end;
  }
  for (let i = 0; i < perDetector.length; i++) {
    if (perDetector[i] === 0) continue;
    countMasked(ALL_DETECTORS[i]!, perDetector[i]);
    perDetector[i] = 0;
  }
  return out + text.slice(at);
}
