/**
 * Seeded generators of text for property tests of the detectors: fragments every
 * detector finds (e-mails, cards, phones, SSNs, IBANs, secrets), near misses of each,
 * and filler (words, digits, punctuation, escapes, non-ASCII). Shared by the kit's
 * masking tests and the proxies' document-masking tests.
 */

/** A small deterministic PRNG (mulberry32), so a failing case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Random = () => number;

export const pick = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)]!;
export const int = (rnd: Random, from: number, to: number): number => from + Math.floor(rnd() * (to - from + 1));

const digits = (rnd: Random, n: number): string => Array.from({ length: n }, () => String(int(rnd, 0, 9))).join('');

/** Appends the Luhn check digit. */
function withLuhn(body: string): string {
  for (let check = 0; check <= 9; check++) {
    const candidate = body + String(check);
    let sum = 0;
    for (let i = 0; i < candidate.length; i++) {
      let d = candidate.charCodeAt(candidate.length - 1 - i) - 48;
      if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

function group(rnd: Random, number: string): string {
  const sep = pick(rnd, ['', '', ' ', '-']);
  if (sep === '') return number;
  return number.replace(/(\d{4})(?=\d)/gu, `$1${sep}`);
}

const b64url = (s: string): string => Buffer.from(s).toString('base64url');
const alnum = (rnd: Random, n: number): string => Array.from({ length: n }, () => pick(rnd, [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'])).join('');

/** IBANs with valid check digits, computed for a random BBAN. */
function iban(rnd: Random): string {
  const [country, length] = pick(rnd, [['DE', 22], ['GB', 22], ['NO', 15], ['FR', 27], ['NL', 18]] as const);
  const bban = country === 'GB' || country === 'NL' ? pick(rnd, ['WEST', 'ABNA']) + digits(rnd, length - 8) : digits(rnd, length - 4);
  const numeric = [...`${bban}${country}00`].map((c) => (c >= 'A' && c <= 'Z' ? String(c.charCodeAt(0) - 55) : c)).join('');
  let remainder = 0;
  for (const c of numeric) remainder = (remainder * 10 + Number(c)) % 97;
  const check = String(98 - remainder).padStart(2, '0');
  const compact = `${country}${check}${bban}`;
  return rnd() < 0.5 ? compact : compact.replace(/(.{4})(?=.)/gu, '$1 ');
}

/** Something a detector finds. */
export function sensitiveFragment(rnd: Random): string {
  switch (int(rnd, 0, 11)) {
    case 0: return `${pick(rnd, ['john', 'a', 'a.b', 'x_y+tag', 'Customer7'])}@${pick(rnd, ['example.com', 'mail.example.co.uk', 'z-a.io', 'b.io'])}`;
    case 1: return group(rnd, withLuhn(pick(rnd, ['4', '51', '37', '6011', '35']) + digits(rnd, pick(rnd, [14, 13, 11, 10]))).slice(0, 16));
    case 2: return pick(rnd, ['+1 415 555 ', '+44 20 7946 ', '(030) 123', '555-123-', '030 1234']) + digits(rnd, 4);
    case 3: return `${int(rnd, 100, 665)}-${int(rnd, 10, 99)}-${int(rnd, 1000, 9999)}`;
    case 4: return `SSN: ${int(rnd, 100, 665)}${int(rnd, 10, 99)}${int(rnd, 1000, 9999)}`;
    case 5: return iban(rnd);
    case 6: // parts long and short: a JWT need not have a long run of token characters
      return rnd() < 0.5 ? `${b64url('{"alg":"HS256"}')}.${b64url(`{"sub":"${alnum(rnd, 6)}"}`)}.${alnum(rnd, 20)}` : `${b64url('{"alg":"x"}')}.${b64url('{}')}.${alnum(rnd, 5)}`;
    case 7: return `AKIA${alnum(rnd, 16).toUpperCase()}`;
    case 8: return `ghp_${alnum(rnd, 36)}`;
    case 9: return `${pick(rnd, ['password', 'api_key', 'DB_PASSWORD', 'client_secret'])}${pick(rnd, ['=', ': ', '="', ":'"])}${alnum(rnd, 8)}`;
    case 10: return `postgres://bob:${alnum(rnd, 6)}@127.0.0.1/app`;
    default: // a whole PEM block, or one cut off after its BEGIN line
      return `-----BEGIN RSA ${'PRIVATE'} KEY-----\n${alnum(rnd, 12)}${rnd() < 0.5 ? `\n-----END RSA ${'PRIVATE'} KEY-----` : ''}`;
  }
}

/** Something close to a finding that should not be one (or is, at the edge). */
export function nearMiss(rnd: Random): string {
  return pick(rnd, [
    'a@b.c', 'john@localhost', 'john.@x.com', '@example.com', 'foo @ bar.com', '4111111111111112', '1234567812345670',
    '41111111111111110000', '3.4111111111111111', '2024-01-15', '15.01.2024', '192.168.100.200', '12345678', '555-1234',
    '000-12-3456', 'order 123456789', 'DE88 3704 0044 0532 0130 00', 'ZZ89370400440532013000', 'AKIAIOSFODNN7EXAMPL',
    'ghp_short', 'password == other', 'secretary: Bob', 'eyJhbGciOiJIUzI1NiJ9', '-----BEGIN CERTIFICATE-----', '+1234567',
    '00 49 1234 5678', 'v1.2.3', 'ssn', 'Social Security', '::', '==', '://', digits(rnd, int(rnd, 1, 20)),
  ]);
}

/** Filler: words, numbers, punctuation, JSON escapes' characters, non-ASCII and lone surrogates. */
export function filler(rnd: Random): string {
  return pick(rnd, [
    'the', 'quick', 'Customer', 'US', 'regular customer, prefers e-mail', ' ', '  ', '\n', '\t', '"', '\\', '/', '.', '-', ':', '=',
    '(', ')', '+', ',', ';', '&', '@', '#', 'é', 'Ünïcödé', '日本語', '😀', '\u2028', '\u00a0', '\ud800', '\u0000', 'ſ', 'S', 's',
    digits(rnd, int(rnd, 1, 6)), alnum(rnd, int(rnd, 1, 30)),
  ]);
}

/** A text of `parts` pieces mixing findings, near misses and filler, joined by nothing, a space or punctuation. */
export function sensitiveText(rnd: Random, parts = int(rnd, 0, 8)): string {
  let out = '';
  for (let i = 0; i < parts; i++) {
    const r = rnd();
    out += r < 0.35 ? sensitiveFragment(rnd) : r < 0.6 ? nearMiss(rnd) : filler(rnd);
    out += pick(rnd, ['', ' ', ' ', ', ', '\n', '"', '=', ':']);
  }
  return out;
}
