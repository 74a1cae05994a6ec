// E-mail addresses: a dot-atom local part (RFC 5322 §3.2.3, restricted to the
// characters real addresses use) '@' a DNS domain with an alphabetic TLD.
// Scanning starts at each '@' and looks at most 64 characters left and 253
// right, so the cost per '@' is bounded and the whole scan is linear.
import { isAlnum, isAlpha } from './characters.ts';
import type { Finding } from './finding.ts';
import type { TextProfile } from './text-profile.ts';

const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

const isLocalChar = (c: number): boolean =>
  isAlnum(c) || c === 46 /* . */ || c === 95 /* _ */ || c === 37 /* % */ || c === 43 /* + */ || c === 45; /* - */
const isDomainChar = (c: number): boolean => isAlnum(c) || c === 45 /* - */ || c === 46; /* . */

/** Pre-check: an address has an '@' and a domain of at least two labels, so a '.'. */
export const emailPossible = (p: TextProfile): boolean => p.at > 0 && p.dots > 0;

export function scanEmails(text: string, out: Finding[]): void {
  let floor = 0; // no finding may start before the end of the previous one
  let at = text.indexOf('@');
  while (at !== -1) {
    const end = matchEmailAt(text, at, floor);
    if (end === -1) {
      at = text.indexOf('@', at + 1);
      continue;
    }
    out.push({ detector: 'email', kind: 'email', start: end[0], end: end[1] });
    floor = end[1];
    at = text.indexOf('@', floor);
  }
}

/** Returns [start, end] of the address whose '@' is at `at`, or -1. */
function matchEmailAt(text: string, at: number, floor: number): [number, number] | -1 {
  let start = at;
  while (start > floor && at - start <= MAX_LOCAL && isLocalChar(text.charCodeAt(start - 1))) start--;
  if (at - start > MAX_LOCAL) return -1;
  while (start < at && text.charCodeAt(start) === 46) start++; // a local part does not start with '.'
  if (start === at || text.charCodeAt(at - 1) === 46) return -1;

  let end = at + 1;
  while (end < text.length && end - at <= MAX_DOMAIN && isDomainChar(text.charCodeAt(end))) end++;
  if (end - at > MAX_DOMAIN) return -1;
  // A sentence may end right after the address: trailing dots and hyphens are not part of it.
  while (end > at + 1 && (text.charCodeAt(end - 1) === 46 || text.charCodeAt(end - 1) === 45)) end--;
  return isDomain(text, at + 1, end) ? [start, end] : -1;
}

/** Labels of 1–63 characters, not starting or ending with '-', at least two, the last alphabetic and 2+ long. Checked in place: this runs for every '@'. */
function isDomain(text: string, from: number, to: number): boolean {
  let labels = 0;
  let labelStart = from;
  for (let i = from; i <= to; i++) {
    if (i < to && text.charCodeAt(i) !== 46) continue;
    const length = i - labelStart;
    if (length === 0 || length > 63) return false;
    if (text.charCodeAt(labelStart) === 45 || text.charCodeAt(i - 1) === 45) return false;
    labels++;
    if (i === to) {
      if (labels < 2 || length < 2) return false;
      for (let k = labelStart; k < to; k++) if (!isAlpha(text.charCodeAt(k))) return false;
      return true;
    }
    labelStart = i + 1;
  }
  return false;
}
