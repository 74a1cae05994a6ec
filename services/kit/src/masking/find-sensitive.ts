import type { Detector } from '@portcullis/schemas';
import { scanEmails } from './email.ts';
import type { Finding, Scanner } from './finding.ts';
import { scanIbans } from './iban.ts';
import { scanPaymentCards } from './payment-card.ts';
import { scanPhones } from './phone.ts';
import { scanSecrets } from './secrets.ts';
import { scanSsns } from './ssn.ts';

/**
 * Detectors in the order they win an overlap: a secret beats everything (its
 * mask reveals nothing), then the structured identifiers, phone numbers last
 * because their shapes are the loosest.
 */
export const ALL_DETECTORS: readonly Detector[] = ['secret', 'iban', 'card', 'ssn', 'email', 'phone'];

const SCANNERS: Record<Detector, Scanner> = {
  secret: scanSecrets,
  iban: scanIbans,
  card: scanPaymentCards,
  ssn: scanSsns,
  email: scanEmails,
  phone: scanPhones,
};

/**
 * Finds the sensitive spans of `text` for the given detectors, sorted by start
 * and never overlapping. Linear in the length of the text.
 */
export function findSensitive(text: string, detectors: readonly Detector[]): Finding[] {
  const enabled = ALL_DETECTORS.filter((d) => detectors.includes(d));
  if (enabled.length === 0 || text.length === 0) return [];
  const taken = enabled.length > 1 ? new Uint8Array(text.length) : null;
  const chosen: Finding[] = [];
  for (const detector of enabled) {
    const found: Finding[] = [];
    SCANNERS[detector](text, found);
    for (const f of found) {
      if (taken !== null) {
        if (overlapsTaken(taken, f)) continue;
        taken.fill(1, f.start, f.end);
      }
      chosen.push(f);
    }
  }
  return chosen.sort((a, b) => a.start - b.start);
}

function overlapsTaken(taken: Uint8Array, f: Finding): boolean {
  for (let i = f.start; i < f.end; i++) if (taken[i] === 1) return true;
  return false;
}
