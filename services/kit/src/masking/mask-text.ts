import type { Detector } from '@portcullis/schemas';
import { findSensitive } from './find-sensitive.ts';
import { maskFinding } from './shapes.ts';
import { gatewayMetrics } from '../operability/metrics.ts';

/** Replaces every finding of the given detectors in `text` with its shape-preserving mask. */
export function maskText(text: string, detectors: readonly Detector[]): string {
  const findings = findSensitive(text, detectors);
  if (findings.length === 0) return text;
  const parts: string[] = [];
  let at = 0;
  // Counted per detector once per text: a label lookup per finding cost more than the masking.
  const counts = new Map<Detector, number>();
  for (const f of findings) {
    counts.set(f.detector, (counts.get(f.detector) ?? 0) + 1);
    parts.push(text.slice(at, f.start), maskFinding(text.slice(f.start, f.end), f));
    at = f.end;
  }
  parts.push(text.slice(at));
  const masked = gatewayMetrics().masked;
  for (const [detector, n] of counts) masked.inc({ detector }, n);
  return parts.join('');
}
