// IBANs (ISO 13616): country code, two check digits, a BBAN of the country's
// registered length; electronic form (contiguous) or print form (groups of four
// separated by single spaces). Validated with the mod-97 check (ISO 7064).
// Each attempt reads at most 34 characters plus separators, and attempts start
// only at a word boundary followed by two capitals and two digits: linear.
import { isAlnum, isDigit, isUpper } from './characters.ts';
import type { Finding } from './finding.ts';
import type { TextProfile } from './text-profile.ts';

/** IBAN lengths per country from the SWIFT IBAN registry. */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

const SHORTEST = Math.min(...Object.values(IBAN_LENGTHS));

/** Pre-check: an IBAN starts with two capitals (the country) and two digits (the check), and is at least as long as the shortest registered one. */
export const ibanPossible = (p: TextProfile): boolean => p.upper >= 2 && p.digits >= 2 && p.length >= SHORTEST;

export function scanIbans(text: string, out: Finding[]): void {
  let i = 0;
  while (i + 4 <= text.length) {
    if (
      isUpper(text.charCodeAt(i)) && isUpper(text.charCodeAt(i + 1)) &&
      isDigit(text.charCodeAt(i + 2)) && isDigit(text.charCodeAt(i + 3)) &&
      !isAlnum(text.charCodeAt(i - 1))
    ) {
      const end = matchIbanAt(text, i);
      if (end !== -1) {
        out.push({ detector: 'iban', kind: 'iban', start: i, end });
        i = end;
        continue;
      }
    }
    i++;
  }
}

function matchIbanAt(text: string, start: number): number {
  const length = IBAN_LENGTHS[text.slice(start, start + 2)];
  if (length === undefined) return -1;
  let compact = text.slice(start, start + 4);
  let j = start + 4;
  const spaced = text.charCodeAt(j) === 32;
  while (compact.length < length) {
    if (spaced) {
      if (text.charCodeAt(j) !== 32) return -1;
      j++;
      const group = Math.min(4, length - compact.length);
      for (let g = 0; g < group; g++, j++) {
        const c = text.charCodeAt(j);
        if (!isUpper(c) && !isDigit(c)) return -1;
        compact += text[j];
      }
    } else {
      const c = text.charCodeAt(j);
      if (!isUpper(c) && !isDigit(c)) return -1;
      compact += text[j];
      j++;
    }
  }
  if (isAlnum(text.charCodeAt(j))) return -1;
  return ibanChecksumValid(compact) ? j : -1;
}

/** ISO 7064 MOD 97-10 over the rearranged IBAN, computed digit by digit. */
export function ibanChecksumValid(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (isDigit(c)) remainder = (remainder * 10 + (c - 48)) % 97;
    else remainder = (remainder * 100 + (c - 55)) % 97; // A=10 … Z=35
  }
  return remainder === 1;
}
