// Telephone numbers. Accepted shapes, all with 8–15 digits (ITU-T E.164 caps
// a number at 15):
//   international  +<country><number> with optional separators: +44 20 7946 0958, +14155552671
//   area in parens (030) 1234567, (555) 123-4567
//   NANP           555-123-4567, 555.123.4567, 1 555 123 4567 (one separator style)
//   trunk prefix   0<area> <number>, one separator style: 030 12345678, 06 12 34 56 78, 0171/1234567
// Bare digit runs (order numbers, ids), dates (2024-01-15, 15.01.2024) and
// card numbers (16+ digits) do not fit these shapes. Each attempt reads at most
// 15 digits and their separators from a word boundary, so the scan is linear.
import { isAlnum, isDigit } from './characters.ts';
import type { Finding } from './finding.ts';
import type { TextProfile } from './text-profile.ts';

const MAX_DIGITS = 15;

interface Group { start: number; end: number; paren: boolean; sep: number } // sep: separator before this group, 0 for the first

const MIN_DIGITS = 8;

/**
 * Pre-check: every accepted shape has at least 8 digits, and a '+', a '(' or a
 * separator between two groups (space, '-', '.', '/'): one bare run of digits
 * is never a phone number.
 */
export const phonePossible = (p: TextProfile): boolean => p.digits >= MIN_DIGITS && p.phoneMarks + p.dashes + p.dots > 0;

export function scanPhones(text: string, out: Finding[]): void {
  let i = 0;
  while (i < text.length) {
    const end = startsPhone(text, i) ? matchPhoneAt(text, i) : -1;
    if (end !== -1) {
      out.push({ detector: 'phone', kind: 'phone', start: i, end });
      i = end;
    } else i++;
  }
}

function startsPhone(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  const p = text.charCodeAt(i - 1);
  if (isAlnum(p) || p === 43 /* + */) return false;
  if ((p === 45 || p === 46 || p === 47 || p === 44) && isDigit(text.charCodeAt(i - 2))) return false;
  if (c === 43 /* + */) return isDigit(text.charCodeAt(i + 1));
  if (c === 40 /* ( */) return isDigit(text.charCodeAt(i + 1)) && p !== 40;
  return isDigit(c) && p !== 40;
}

function matchPhoneAt(text: string, start: number): number {
  const plus = text.charCodeAt(start) === 43;
  const groups = readGroups(text, plus ? start + 1 : start);
  if (groups === null) return -1;
  for (let n = groups.length; n >= 1; n--) {
    const last = groups[n - 1]!;
    const end = last.end + (last.paren ? 1 : 0);
    if (endsPhone(text, end) && fitsShape(text, groups, n, plus)) return end;
  }
  return -1;
}

/** Digit groups from `i`: "(ddd)" once at most, others separated by one of space - . / */
function readGroups(text: string, i: number): Group[] | null {
  const groups: Group[] = [];
  let digits = 0;
  let sep = 0;
  let hadParen = false;
  for (;;) {
    const paren = text.charCodeAt(i) === 40;
    if (paren && hadParen) break;
    hadParen ||= paren;
    const s = paren ? i + 1 : i;
    let e = s;
    while (isDigit(text.charCodeAt(e))) e++;
    if (e === s || (paren && text.charCodeAt(e) !== 41)) break;
    digits += e - s;
    if (digits > MAX_DIGITS) return groups.length === 0 ? null : groups;
    groups.push({ start: s, end: e, paren, sep });
    let j = paren ? e + 1 : e;
    const c = text.charCodeAt(j);
    if (paren && isDigit(c)) { sep = 0; i = j; continue; } // (555)123-4567
    if (c !== 32 && c !== 45 && c !== 46 && c !== 47) break;
    j++;
    if (!isDigit(text.charCodeAt(j)) && text.charCodeAt(j) !== 40) break;
    sep = c;
    i = j;
  }
  return groups.length === 0 ? null : groups;
}

function endsPhone(text: string, end: number): boolean {
  const c = text.charCodeAt(end);
  if (isAlnum(c)) return false;
  return !((c === 45 || c === 46 || c === 47) && isDigit(text.charCodeAt(end + 1)));
}

// A plain function, not a closure inside fitsShape: this runs for every candidate.
function groupLength(g: Group): number {
  return g.end - g.start;
}

/** Whether the first `n` groups form one of the accepted shapes. */
function fitsShape(text: string, groups: Group[], n: number, plus: boolean): boolean {
  let digits = 0;
  for (let k = 0; k < n; k++) digits += groups[k]!.end - groups[k]!.start;
  if (digits < MIN_DIGITS || digits > MAX_DIGITS) return false;
  const first = text.charCodeAt(groups[0]!.start);
  let parenAt = -1;
  for (let k = 0; k < n; k++) if (groups[k]!.paren) parenAt = k;
  if (plus) return first !== 48 /* 0 */ && parenAt <= 1;
  if (n < 2) return false;
  if (parenAt === 0) return groupLength(groups[0]!) >= 2 && groupLength(groups[0]!) <= 5 && digits <= 12;
  if (parenAt !== -1) return false;
  // one separator style; '/' only after a trunk prefix (0171/1234567)
  const sep = groups[1]!.sep;
  for (let k = 2; k < n; k++) if (groups[k]!.sep !== sep) return false;
  if (sep === 47 && first !== 48) return false;
  if (n === 3 && groupLength(groups[0]!) === 3 && groupLength(groups[1]!) === 3 && groupLength(groups[2]!) === 4) return first >= 50; // NANP: area code starts 2–9
  if (n === 4 && groupLength(groups[0]!) === 1 && first === 49 && groupLength(groups[1]!) === 3 && groupLength(groups[2]!) === 3 && groupLength(groups[3]!) === 4) return true; // 1 555 123 4567
  if (n === 3 && ((groupLength(groups[0]!) === 4 && groupLength(groups[1]!) === 2 && groupLength(groups[2]!) === 2) || (groupLength(groups[0]!) === 2 && groupLength(groups[1]!) === 2 && groupLength(groups[2]!) === 4))) return false; // dates
  // trunk prefix: 0 then a non-zero digit (00 is the international call prefix)
  return first === 48 && text.charCodeAt(groups[0]!.start + 1) !== 48 && digits >= 9 && digits <= 12;
}
