// The mask each kind of finding is replaced with. Shapes keep what a reader
// needs to recognise the kind of value (and tell two apart by their last
// digits) and nothing that identifies the person or opens the account.
import { isAlnum, isDigit } from './characters.ts';
import type { Finding } from './finding.ts';

/** The mask for one finding whose text is `value`. */
export function maskFinding(value: string, finding: Finding): string {
  switch (finding.kind) {
    case 'email':
      return maskEmail(value);
    case 'card':
      return maskCardNumber(value);
    case 'iban':
      return maskIban(value);
    case 'ssn':
      return maskSsn(value);
    case 'phone':
      return maskPhone(value);
    case 'jwt':
    case 'private-key':
    case 'aws-access-key':
    case 'github-token':
    case 'slack-token':
    case 'google-api-key':
    case 'credential':
      return `[REDACTED:${finding.kind}]`;
    default: {
      const unreachable: never = finding.kind;
      throw new Error(`unknown finding kind ${String(unreachable)}`);
    }
  }
}

/** john.doe@example.com → j***@example.com */
export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  return `${value.slice(0, 1)}***${value.slice(at)}`;
}

/** 4111 1111 1111 1234 → ************1234 (separators dropped, one star per hidden digit). */
export function maskCardNumber(value: string): string {
  const digits = value.replace(/\D/gu, '');
  return '*'.repeat(Math.max(0, digits.length - 4)) + digits.slice(-4);
}

/** DE89 3704 0044 0532 0130 00 → DE** **** **** **** **30 00 (country and last four kept, spacing kept). */
export function maskIban(value: string): string {
  const total = countWhere(value, isAlnum);
  let seen = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!isAlnum(c)) {
      out += value[i];
      continue;
    }
    seen++;
    out += seen <= 2 || seen > total - 4 ? value[i] : '*';
  }
  return out;
}

/** 123-45-6789 → ***-**-6789; 123456789 → *****6789 */
export function maskSsn(value: string): string {
  return value.length === 11 ? `***-**-${value.slice(7)}` : `*****${value.slice(5)}`;
}

/** +1 (555) 123-4567 → +* (***) ***-**67: separators kept, last two digits kept. */
export function maskPhone(value: string): string {
  const total = countWhere(value, isDigit);
  let seen = 0;
  let out = '';
  for (let i = 0; i < value.length; i++) {
    if (!isDigit(value.charCodeAt(i))) {
      out += value[i];
      continue;
    }
    seen++;
    out += seen > total - 2 ? value[i] : '*';
  }
  return out;
}

function countWhere(s: string, ok: (c: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (ok(s.charCodeAt(i))) n++;
  return n;
}
