// Payment card numbers (PANs): 13–19 digits, contiguous or in groups separated
// by one space or one dash, Luhn-valid (ISO/IEC 7812-1 Annex B) and in a known
// issuer range. The text is cut into runs of digit groups once; candidate
// windows start at each group and grow while they hold at most 19 digits, so
// the work per group is bounded and the scan is linear.
import { isAlnum, isDigit } from './characters.ts';
import type { Finding } from './finding.ts';
import type { TextProfile } from './text-profile.ts';

interface Group { start: number; end: number; sep: number } // sep: separator code after the group, 0 at run end

const MIN_DIGITS = 13;

/** Pre-check: a card number has at least 13 digits. */
export const paymentCardPossible = (p: TextProfile): boolean => p.digits >= MIN_DIGITS;

export function scanPaymentCards(text: string, out: Finding[]): void {
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i)) || !startsNumber(text, i)) {
      i++;
      continue;
    }
    const groups = readGroups(text, i);
    matchWindows(text, groups, out);
    i = groups[groups.length - 1]!.end;
  }
}

/** A number starts here unless it continues a word, a decimal like 3.14, or is an international phone number (+…). */
function startsNumber(text: string, i: number): boolean {
  const p = text.charCodeAt(i - 1);
  if (isAlnum(p) || p === 43 /* + */) return false;
  if ((p === 46 || p === 44) && isDigit(text.charCodeAt(i - 2))) return false;
  return true;
}

function readGroups(text: string, i: number): Group[] {
  const groups: Group[] = [];
  let s = i;
  for (;;) {
    let e = s;
    while (isDigit(text.charCodeAt(e))) e++;
    const c = text.charCodeAt(e);
    const joins = (c === 32 || c === 45) && isDigit(text.charCodeAt(e + 1));
    groups.push({ start: s, end: e, sep: joins ? c : 0 });
    if (!joins) return groups;
    s = e + 1;
  }
}

function matchWindows(text: string, groups: Group[], out: Finding[]): void {
  for (let k = 0; k < groups.length; k++) {
    let best = -1;
    let digits = '';
    for (let m = k; m < groups.length; m++) {
      const g = groups[m]!;
      if (m > k && g.end - g.start > 6) break;
      if (m > k && groups[m - 1]!.sep !== groups[k]!.sep) break; // one separator style per number
      digits += text.slice(g.start, g.end);
      if (digits.length > 19) break;
      if (m > k && (groups[k]!.end - groups[k]!.start < 4 || groups[k]!.end - groups[k]!.start > 6)) break;
      if (digits.length >= MIN_DIGITS && endsNumber(text, g, m === groups.length - 1) && isPaymentCardNumber(digits)) best = m;
    }
    if (best !== -1) {
      out.push({ detector: 'card', kind: 'card', start: groups[k]!.start, end: groups[best]!.end });
      k = best;
    }
  }
}

function endsNumber(text: string, g: Group, lastOfRun: boolean): boolean {
  if (!lastOfRun) return true; // the next group follows a separator
  const c = text.charCodeAt(g.end);
  if (isAlnum(c)) return false;
  if ((c === 46 || c === 44) && isDigit(text.charCodeAt(g.end + 1))) return false;
  return true;
}

/** Luhn checksum over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer ranges (IIN prefixes) of the networks in circulation, with their PAN lengths. */
const ISSUER_RANGES: { from: number; to: number; digits: number; lengths: readonly number[] }[] = [
  { from: 4, to: 4, digits: 1, lengths: [13, 16, 19] }, // Visa
  { from: 51, to: 55, digits: 2, lengths: [16] }, // Mastercard
  { from: 2221, to: 2720, digits: 4, lengths: [16] }, // Mastercard 2-series
  { from: 34, to: 34, digits: 2, lengths: [15] }, // American Express
  { from: 37, to: 37, digits: 2, lengths: [15] },
  { from: 300, to: 305, digits: 3, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { from: 36, to: 36, digits: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { from: 38, to: 39, digits: 2, lengths: [14, 15, 16, 17, 18, 19] },
  { from: 3528, to: 3589, digits: 4, lengths: [16, 17, 18, 19] }, // JCB
  { from: 6011, to: 6011, digits: 4, lengths: [16, 17, 18, 19] }, // Discover
  { from: 644, to: 649, digits: 3, lengths: [16, 17, 18, 19] },
  { from: 65, to: 65, digits: 2, lengths: [16, 17, 18, 19] },
  { from: 62, to: 62, digits: 2, lengths: [16, 17, 18, 19] }, // UnionPay
  { from: 50, to: 50, digits: 2, lengths: [13, 14, 15, 16, 17, 18, 19] }, // Maestro
  { from: 56, to: 69, digits: 2, lengths: [13, 14, 15, 16, 17, 18, 19] },
  { from: 2200, to: 2204, digits: 4, lengths: [16, 17, 18, 19] }, // Mir
];

/** True for 13–19 digits in a known issuer range that pass the Luhn check. */
export function isPaymentCardNumber(digits: string): boolean {
  if (digits.length < MIN_DIGITS || digits.length > 19) return false;
  for (let i = 0; i < digits.length; i++) if (!isDigit(digits.charCodeAt(i))) return false;
  if (!luhnValid(digits)) return false; // cheapest test first: rejects nine in ten
  for (const r of ISSUER_RANGES) {
    const prefix = Number(digits.slice(0, r.digits));
    if (prefix >= r.from && prefix <= r.to && r.lengths.includes(digits.length)) return true;
  }
  return false;
}
