import type { Detector } from '@portcullis/schemas';
import { emailPossible, scanEmails } from './email.ts';
import type { Finding, Scanner } from './finding.ts';
import { ibanPossible, scanIbans } from './iban.ts';
import { paymentCardPossible, scanPaymentCards } from './payment-card.ts';
import { phonePossible, scanPhones } from './phone.ts';
import { scanSecrets, secretPossible } from './secrets.ts';
import { scanSsns, ssnPossible } from './ssn.ts';
import { profileText, type TextProfile } from './text-profile.ts';

/**
 * Detectors in the order they win an overlap: a secret beats everything (its
 * mask reveals nothing), then the structured identifiers, phone numbers last
 * because their shapes are the loosest.
 */
export const ALL_DETECTORS: readonly Detector[] = ['secret', 'iban', 'card', 'ssn', 'email', 'phone'];

interface DetectorScan {
  detector: Detector;
  bit: number;
  scan: Scanner;
  /** A necessary condition for any finding of `scan` (false: it cannot find anything). */
  possible: (profile: TextProfile) => boolean;
}

const SCANS: Record<Detector, Omit<DetectorScan, 'detector' | 'bit'>> = {
  secret: { scan: scanSecrets, possible: secretPossible },
  iban: { scan: scanIbans, possible: ibanPossible },
  card: { scan: scanPaymentCards, possible: paymentCardPossible },
  ssn: { scan: scanSsns, possible: ssnPossible },
  email: { scan: scanEmails, possible: emailPossible },
  phone: { scan: scanPhones, possible: phonePossible },
};

/** Every detector with its scanner and pre-check, in overlap order. */
export const DETECTOR_SCANS: readonly DetectorScan[] = ALL_DETECTORS.map((detector, i) => ({ detector, bit: 1 << i, ...SCANS[detector] }));
// A Map, not an object: a keyed load on an object with six string keys is a slow lookup, and this runs per string.
const BITS = new Map(DETECTOR_SCANS.map((d) => [d.detector, d.bit]));

/**
 * A set of detectors resolved once to their scanners, for callers that scan
 * many strings with the same detectors (every value of a document): the
 * lookup per detector is then not repeated per string.
 */
export class DetectorSet {
  readonly scans: readonly DetectorScan[];
  constructor(detectors: readonly Detector[]) {
    this.scans = DETECTOR_SCANS.filter((d) => detectors.includes(d.detector));
  }
  get size(): number {
    return this.scans.length;
  }
}

const NONE: readonly Finding[] = Object.freeze([]);
// Scratch list for one scanner's findings, reused: this runs for every string
// of a document and most find nothing.
const scratch: Finding[] = [];

/**
 * Finds the sensitive spans of `text` for the given detectors, sorted by start
 * and never overlapping. Linear in the length of the text. Allocates nothing
 * when nothing is found.
 */
export function findSensitive(text: string, detectors: readonly Detector[] | DetectorSet): readonly Finding[] {
  if (text.length === 0) return NONE;
  let scans = DETECTOR_SCANS;
  let enabled = -1;
  if (detectors instanceof DetectorSet) scans = detectors.scans;
  else {
    enabled = 0;
    for (let i = 0; i < detectors.length; i++) enabled |= BITS.get(detectors[i]!) ?? 0;
  }
  if (scans.length === 0 || enabled === 0) return NONE;
  const profile = profileText(text);
  let chosen: Finding[] | null = null;
  for (let i = 0; i < scans.length; i++) {
    const entry = scans[i]!;
    if ((enabled & entry.bit) === 0 || !entry.possible(profile)) continue;
    scratch.length = 0;
    entry.scan(text, scratch);
    if (scratch.length === 0) continue;
    chosen = chosen === null ? scratch.slice() : keepEarlier(chosen, scratch);
  }
  return chosen ?? NONE;
}

/**
 * Merges two lists, each sorted by start and non-overlapping (the Scanner
 * contract), dropping every finding of `later` that overlaps one of `earlier`
 * (whose detector comes first in the overlap order). Linear in both.
 */
function keepEarlier(earlier: readonly Finding[], later: readonly Finding[]): Finding[] {
  const merged: Finding[] = [];
  let e = 0;
  for (const f of later) {
    while (e < earlier.length && earlier[e]!.end <= f.start) merged.push(earlier[e++]!);
    if (e < earlier.length && earlier[e]!.start < f.end) continue; // overlaps a finding of an earlier detector
    merged.push(f);
  }
  while (e < earlier.length) merged.push(earlier[e++]!);
  return merged;
}
