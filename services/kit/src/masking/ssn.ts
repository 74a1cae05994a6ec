// US Social Security numbers. The dashed form AAA-GG-SSSS is always a finding;
// nine bare digits only when a label ("SSN", "social security (number)") comes
// right before them, because nine-digit integers (order numbers, ids, ZIP+4
// without the dash) are too common to flag on their own.
// Numbers that were never issued are not findings: area 000, 666 or 900–999,
// group 00, serial 0000 (SSA, "Social Security Number Randomization").
import { isAlnum, isAlpha, isDigit } from './characters.ts';
import type { Finding } from './finding.ts';
import type { TextProfile } from './text-profile.ts';

/** Pre-check: both forms are nine digits, the dashed one has two dashes and the bare one a label, and every label has an 's'. */
export const ssnPossible = (p: TextProfile): boolean => p.digits >= 9 && (p.dashes >= 2 || p.letterS > 0);

export function scanSsns(text: string, out: Finding[]): void {
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i)) || !startsNumber(text, i)) {
      i++;
      continue;
    }
    const end = matchSsnAt(text, i);
    if (end !== -1) {
      out.push({ detector: 'ssn', kind: 'ssn', start: i, end });
      i = end;
      continue;
    }
    while (isDigit(text.charCodeAt(i))) i++;
  }
}

function startsNumber(text: string, i: number): boolean {
  const p = text.charCodeAt(i - 1);
  if (isAlnum(p)) return false;
  return !((p === 45 || p === 46) && isDigit(text.charCodeAt(i - 2)));
}

function endsNumber(text: string, j: number): boolean {
  const c = text.charCodeAt(j);
  if (isAlnum(c)) return false;
  return !((c === 45 || c === 46) && isDigit(text.charCodeAt(j + 1)));
}

function digitsAt(text: string, i: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (!isDigit(text.charCodeAt(i + k))) return false;
  return true;
}

function matchSsnAt(text: string, i: number): number {
  if (digitsAt(text, i, 3) && text[i + 3] === '-' && digitsAt(text, i + 4, 2) && text[i + 6] === '-' && digitsAt(text, i + 7, 4)) {
    const end = i + 11;
    if (!endsNumber(text, end)) return -1;
    return ssnIssued(text.slice(i, i + 3), text.slice(i + 4, i + 6), text.slice(i + 7, end)) ? end : -1;
  }
  if (digitsAt(text, i, 9) && endsNumber(text, i + 9) && labelledSsn(text, i)) {
    return ssnIssued(text.slice(i, i + 3), text.slice(i + 3, i + 5), text.slice(i + 5, i + 9)) ? i + 9 : -1;
  }
  return -1;
}

export function ssnIssued(area: string, group: string, serial: string): boolean {
  if (area === '000' || area === '666' || area[0] === '9') return false;
  return group !== '00' && serial !== '0000';
}

const LABELS = ['ssn', 'social security', 'social security number', 'social security no'];

/** True when the text right before `i` reads like "SSN: ", "ssn=", "Social Security Number #". */
function labelledSsn(text: string, i: number): boolean {
  let before = text.slice(Math.max(0, i - 40), i).toLowerCase();
  before = before.replace(/[\s:=#"'.(-]+$/u, ''); // bounded input (40 chars), single char class: no backtracking risk
  return LABELS.some((label) => before.endsWith(label) && !isAlpha(before.charCodeAt(before.length - label.length - 1)));
}
