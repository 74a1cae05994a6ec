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
  const masked = gatewayMetrics().masked;
  for (const f of findings) {
    masked.inc({ detector: f.detector });
    parts.push(text.slice(at, f.start), maskFinding(text.slice(f.start, f.end), f));
    at = f.end;
  }
  parts.push(text.slice(at));
  return parts.join('');
}
