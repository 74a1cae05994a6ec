// Secrets: bearer tokens and keys with a recognisable format, and the values of
// credential-looking assignments. Every scanner here moves forward through the
// text and reads a bounded amount per attempt, so the whole pass is linear.
import { isAlnum, isAlpha, isBase64Url, isDigit, isUpper } from './characters.ts';
import type { Finding, SecretKind } from './finding.ts';
import type { TextProfile } from './text-profile.ts';

/**
 * Pre-check, one condition per scanner below: a PEM block has ten dashes
 * (`-----BEGIN ` and the `-----` closing its label), a JWT two dots, a vendor
 * token a base64url run of at least MIN_TOKEN, an assignment a ':' or '=', a
 * URL credential the ':' of '://'.
 */
export const secretPossible = (p: TextProfile): boolean =>
  p.colonsOrEquals > 0 || p.dots >= 2 || p.dashes >= 10 || p.longestBase64UrlRun >= MIN_TOKEN;

export function scanSecrets(text: string, out: Finding[]): void {
  const found: Finding[] = [];
  scanPrivateKeys(text, found);
  scanJwts(text, found);
  scanTokens(text, found);
  scanCredentialAssignments(text, found);
  scanUrlCredentials(text, found);
  // Scanners may overlap each other (a token that is also an assignment's
  // value); keep the earliest, then the longest.
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  let floor = 0;
  for (const f of found) {
    if (f.start < floor) continue;
    out.push(f);
    floor = f.end;
  }
}

const secret = (kind: SecretKind, start: number, end: number): Finding => ({ detector: 'secret', kind, start, end });

// --- PEM private keys (RFC 7468) -------------------------------------------

const PEM_BEGIN = '-----BEGIN ';

function scanPrivateKeys(text: string, out: Finding[]): void {
  let at = text.indexOf(PEM_BEGIN);
  while (at !== -1) {
    const labelStart = at + PEM_BEGIN.length;
    let j = labelStart;
    while (j - labelStart < 64 && (isUpper(text.charCodeAt(j)) || isDigit(text.charCodeAt(j)) || text[j] === ' ')) j++;
    const label = text.slice(labelStart, j);
    if (!text.startsWith('-----', j) || !label.endsWith('PRIVATE KEY')) {
      at = text.indexOf(PEM_BEGIN, labelStart);
      continue;
    }
    const endMarker = `-----END ${label}-----`;
    const endAt = text.indexOf(endMarker, j + 5);
    // A key without its END line (truncated output) is still a key: mask to the end.
    const end = endAt === -1 ? text.length : endAt + endMarker.length;
    out.push(secret('private-key', at, end));
    if (endAt === -1) return;
    at = text.indexOf(PEM_BEGIN, end);
  }
}

// --- JWTs (RFC 7519): base64url header "." payload "." signature -----------

function scanJwts(text: string, out: Finding[]): void {
  let at = text.indexOf('eyJ'); // '{"' in base64url: every JSON header starts with it
  while (at !== -1) {
    let next = at + 3;
    if (!isBase64Url(text.charCodeAt(at - 1))) {
      const headerEnd = runEnd(text, at, isBase64Url);
      next = headerEnd;
      if (text[headerEnd] === '.' && headerEnd - at <= 4096 && isJwtHeader(text.slice(at, headerEnd))) {
        const payloadEnd = runEnd(text, headerEnd + 1, isBase64Url);
        if (payloadEnd > headerEnd + 1 && text[payloadEnd] === '.') {
          let end = runEnd(text, payloadEnd + 1, isBase64Url);
          // JWE compact serialisation has five parts; take them all.
          for (let part = 3; part < 5 && text[end] === '.' && isBase64Url(text.charCodeAt(end + 1)); part++) {
            end = runEnd(text, end + 1, isBase64Url);
          }
          out.push(secret('jwt', at, end));
          next = end;
        }
      }
    }
    at = text.indexOf('eyJ', next);
  }
}

function isJwtHeader(part: string): boolean {
  try {
    const header: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string';
  } catch {
    return false;
  }
}

function runEnd(text: string, i: number, inRun: (c: number) => boolean): number {
  while (inRun(text.charCodeAt(i))) i++;
  return i;
}

// --- Vendor tokens, recognised by prefix and length --------------------------

function scanTokens(text: string, out: Finding[]): void {
  let i = 0;
  while (i < text.length) {
    if (!isBase64Url(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const end = runEnd(text, i, isBase64Url);
    const kind = end - i >= MIN_TOKEN ? tokenKind(text.slice(i, end)) : null;
    if (kind !== null) out.push(secret(kind, i, end));
    i = end;
  }
}

const GITHUB_PREFIXES = ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'];

// Module-level predicates rather than closures: tokenKind runs for every word of the text.
const isUpperOrDigit = (c: number): boolean => isUpper(c) || isDigit(c);
const isAlnumOrUnderscore = (c: number): boolean => isAlnum(c) || c === 95;

const MIN_TOKEN = 20; // the shortest format below (AWS key id)

function tokenKind(run: string): SecretKind | null {
  // AWS access key ids: AKIA (long-term) / ASIA (STS) + 16 upper-case base32 characters.
  if ((run.startsWith('AKIA') || run.startsWith('ASIA')) && run.length === 20 && every(run, 4, isUpperOrDigit)) {
    return 'aws-access-key';
  }
  if (run.startsWith('gh') && GITHUB_PREFIXES.includes(run.slice(0, 4)) && run.length >= 34 && every(run, 4, isAlnum)) return 'github-token';
  if (run.startsWith('github_pat_') && run.length >= 11 + 22 && every(run, 11, isAlnumOrUnderscore)) return 'github-token';
  // Slack: xoxb- xoxp- xoxa- xoxo- xoxs- xoxr- xoxe- and app-level xapp-.
  if (/^xox[abeoprs]-[A-Za-z0-9-]{10,}$/u.test(run) || /^xapp-[A-Za-z0-9-]{10,}$/u.test(run)) return 'slack-token';
  if (run.startsWith('AIza') && run.length === 39) return 'google-api-key';
  return null;
}

function every(s: string, from: number, ok: (c: number) => boolean): boolean {
  for (let i = from; i < s.length; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}

// --- Credential assignments: password=…, "secret": "…", api_key: … ----------

const CONTAINS_KEYWORDS = ['password', 'passwd', 'passphrase'];
const SUFFIX_KEYWORDS = [
  'pwd', 'secret', 'secretkey', 'secret_key', 'secret-key', 'token', 'apikey', 'api_key', 'api-key',
  'accesskey', 'access_key', 'access-key', 'privatekey', 'private_key', 'private-key', 'credentials',
];
const MAX_VALUE = 256;

const isKeyChar = (c: number): boolean => isAlnum(c) || c === 95 || c === 45 || c === 46; // _ - .

export function isCredentialKey(key: string): boolean {
  const k = key.toLowerCase();
  for (const w of CONTAINS_KEYWORDS) if (k.includes(w)) return true;
  for (const w of SUFFIX_KEYWORDS) if (k.endsWith(w)) return true;
  return false;
}

function scanCredentialAssignments(text: string, out: Finding[]): void {
  let i = 0;
  while (i < text.length) {
    if (!isAlpha(text.charCodeAt(i)) || isKeyChar(text.charCodeAt(i - 1))) {
      i++;
      continue;
    }
    const keyEnd = runEnd(text, i, isKeyChar);
    if (keyEnd - i < 3 || keyEnd - i > 64 || !isCredentialKey(text.slice(i, keyEnd))) {
      i = keyEnd;
      continue;
    }
    const value = assignedValue(text, keyEnd);
    if (value === null) {
      i = keyEnd;
      continue;
    }
    out.push(secret('credential', value[0], value[1]));
    i = value[1];
  }
}

/** After a key: optional closing quote, spaces, '=' or ':', spaces, then a quoted or bare value. */
function assignedValue(text: string, j: number): [number, number] | null {
  if (text[j] === '"' || text[j] === "'") j++;
  while (text[j] === ' ' || text[j] === '\t') j++;
  if (text[j] === ':' && text[j + 1] === '=') j++;
  if (text[j] !== '=' && text[j] !== ':') return null;
  j++;
  if (text[j] === '=') return null; // ==, a comparison
  while (text[j] === ' ' || text[j] === '\t') j++;
  const quote = text[j];
  if (quote === '"' || quote === "'") {
    const start = j + 1;
    let end = start;
    while (end < text.length && end - start < MAX_VALUE && text[end] !== quote && text[end] !== '\n') {
      end += text[end] === '\\' ? 2 : 1;
    }
    end = Math.min(end, text.length);
    return end > start ? [start, end] : null;
  }
  const start = j;
  let end = start;
  while (end < text.length && end - start < MAX_VALUE && !isValueTerminator(text.charCodeAt(end))) end++;
  return end > start ? [start, end] : null;
}

/** Whitespace and the characters that end a value in query strings, JSON, YAML flow and shell. */
function isValueTerminator(c: number): boolean {
  return c <= 32 || c === 44 || c === 59 || c === 38 || c === 34 || c === 39 || c === 60 || c === 62 || c === 41 || c === 125 || c === 93;
}

// --- Credentials in URLs: scheme://user:password@host -------------------------

function scanUrlCredentials(text: string, out: Finding[]): void {
  let at = text.indexOf('://');
  while (at !== -1) {
    let j = at + 3;
    let colon = -1;
    while (j < text.length && j - at < MAX_VALUE) {
      const c = text.charCodeAt(j);
      if (c === 64 /* @ */ || c <= 32 || c === 47 /* / */) break;
      if (c === 58 /* : */ && colon === -1) colon = j;
      j++;
    }
    if (text[j] === '@' && colon !== -1 && j > colon + 1 && colon > at + 3) {
      out.push(secret('credential', colon + 1, j));
    }
    at = text.indexOf('://', at + 3);
  }
}
