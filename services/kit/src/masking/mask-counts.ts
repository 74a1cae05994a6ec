import { gatewayMetrics } from '../operability/metrics.ts';

// Counting masked values in portcullis_masked_values_total. A prom-client inc
// hashes and validates its labels each time, which costs more than masking a
// short value; a document with thousands of findings is counted once per label
// at its end instead (batchMaskCounts), still before the caller sees the result.

const counters = new Map<string, { inc(n: number): void }>();
const pending = new Map<string, number>();
let batching = 0;

/** Counts `n` values masked under `label` (a detector, or 'field'). */
export function countMasked(label: string, n = 1): void {
  if (batching > 0) {
    pending.set(label, (pending.get(label) ?? 0) + n);
    return;
  }
  counterFor(label).inc(n);
}

/** Runs `run`, counting what it masks once per label when it returns (or throws). */
export function batchMaskCounts<T>(run: () => T): T {
  batching++;
  try {
    return run();
  } finally {
    if (--batching === 0 && pending.size > 0) {
      for (const [label, n] of pending) counterFor(label).inc(n);
      pending.clear();
    }
  }
}

function counterFor(label: string): { inc(n: number): void } {
  let counter = counters.get(label);
  if (counter === undefined) counters.set(label, (counter = gatewayMetrics().masked.labels({ detector: label })));
  return counter;
}
