// Masking of one column value of a DataRow or COPY row (protocol docs,
// "Message Formats": DataRow carries each field as a length and bytes in the
// format the client asked for: 0 text, 1 binary).
//
// The rule: a masked value stays a valid value of its column type, or becomes
// SQL NULL. Text-like values keep a recognisable shape; types that cannot hold
// a mask (numbers, dates, uuids, bytea, arrays of them, records, anything
// unknown in binary) become NULL when the column is protected, and under
// 'detect' stay untouched only when they cannot contain a finding at all.
import type { Detector } from '@portcullis/schemas';
import { isPaymentCardNumber, maskText, maskValue } from '@portcullis/kit';
import { rewriteArrayText } from './array-text.ts';
import { arrayBinaryElementOid, float8IntegerDigits, numericBinaryIntegerDigits, rewriteArrayBinary } from './binary-values.ts';
import { rewriteJsonLeaves, type JsonLeafRewriter } from './json-text.ts';
import { OID, typeClass } from './type-oids.ts';

export type MaskStrategy = 'partial' | 'redact' | 'null' | 'hash';
export interface ColumnMask {
  /** 'detect' = only the content detectors. */
  strategy: MaskStrategy | 'detect';
}
type Format = 0 | 1;
type Protect = Exclude<MaskStrategy, 'null'>;

const JSONB_VERSION = 1;

/** Masks one DataRow/CopyData field value in the given format (0 text, 1 binary) for the column's type OID; returns the new bytes or null (SQL NULL) when the type cannot hold a masked value. */
export function maskFieldValue(value: Buffer | null, typeOid: number, format: 0 | 1, mask: ColumnMask, detectors: Detector[]): Buffer | null {
  if (value === null || mask.strategy === 'null') return null;
  if (mask.strategy === 'detect') return detectInField(value, typeOid, format, detectors);
  return protectField(value, typeOid, format, mask.strategy, detectors);
}

// --- Protected columns: the whole value is masked ----------------------------

function protectField(value: Buffer, typeOid: number, format: Format, strategy: Protect, detectors: Detector[]): Buffer | null {
  const text = (): string => value.toString('utf8');
  switch (typeClass(typeOid)) {
    case 'text':
      return utf8(maskValue(text(), strategy, detectors));
    case 'bpchar':
      return utf8(keepLength(text(), (s) => maskValue(s.trimEnd(), strategy, detectors)));
    case 'json':
      return mapJson(value, false, protectJsonLeaves(strategy, detectors));
    case 'jsonb':
      return mapJson(value, format === 1, protectJsonLeaves(strategy, detectors));
    case 'text-array':
      return format === 0 ? mapArrayText(value, (e) => maskValue(e, strategy, detectors)) : null;
    case 'json-array':
      return format === 0 ? mapArrayText(value, (e) => rewriteJsonLeaves(e, protectJsonLeaves(strategy, detectors))) : null;
    case 'other':
      // citext, enums, domains over text…: in text format any string is a valid
      // literal for the client; in binary we cannot know the layout.
      return format === 0 ? utf8(maskValue(text(), strategy, detectors)) : null;
    case 'xml':
    case 'record':
    case 'number':
    case 'number-array':
    case 'clean':
    case 'clean-array':
    case 'bytea':
      return null;
  }
}

function protectJsonLeaves(strategy: Protect, detectors: Detector[]): JsonLeafRewriter {
  return {
    // Member names are structure, not the protected value; they are still scanned.
    string: (s, isKey) => (isKey ? maskText(s, detectors) : maskValue(s, strategy, detectors)),
    number: () => '0',
  };
}

// --- 'detect': only the content detectors ------------------------------------

function detectInField(value: Buffer, typeOid: number, format: Format, detectors: Detector[]): Buffer | null {
  if (detectors.length === 0) return value;
  const cls = typeClass(typeOid);
  switch (cls) {
    case 'text':
    case 'xml':
      return maskTextBytes(value, detectors);
    case 'bpchar': {
      const text = value.toString('utf8');
      const masked = keepLength(text, (s) => maskText(s, detectors));
      return masked === text ? value : utf8(masked);
    }
    case 'json':
      return mapJson(value, false, detectJsonLeaves(detectors));
    case 'jsonb':
      return mapJson(value, format === 1, detectJsonLeaves(detectors));
    case 'text-array':
      return format === 0
        ? mapArrayText(value, (e) => maskText(e, detectors))
        : rewriteArrayBinary(value, (e) => maskTextBytes(e, detectors));
    case 'json-array':
      if (format === 0) return mapArrayText(value, (e) => rewriteJsonLeaves(e, detectJsonLeaves(detectors)));
      return rewriteArrayBinary(value, (e) => mapJson(e, arrayBinaryElementOid(value) === OID.jsonb, detectJsonLeaves(detectors)));
    case 'number':
      return holdsCardNumber(value, typeOid, format, detectors) ? null : value;
    case 'number-array': {
      if (!detectors.includes('card')) return value;
      const elementOid = typeOid === 1016 ? OID.int8 : typeOid === 1022 ? OID.float8 : OID.numeric;
      const check = (e: Buffer): boolean => holdsCardNumber(e, elementOid, format, detectors);
      let found = false;
      const inspect = <T>(element: T, bytes: Buffer): T => {
        found ||= check(bytes);
        return element;
      };
      const parsed = format === 0
        ? rewriteArrayText(value.toString('utf8'), (e) => inspect(e, utf8(e)))
        : rewriteArrayBinary(value, (e) => inspect(e, e));
      return parsed === null || found ? null : value;
    }
    case 'clean':
    case 'clean-array':
      return value;
    case 'bytea':
      return findsAnything(format === 0 ? decodeByteaText(value) : value, detectors) ? null : value;
    case 'record':
    case 'other':
      // Text format: a literal of some type we do not know; any string is valid for the client.
      if (format === 0) return maskTextBytes(value, detectors);
      // Binary: we cannot rewrite it, but text inside it (citext, a record's
      // text fields) is plain UTF-8 bytes we can scan.
      return findsAnything(value, detectors) ? null : value;
  }
}

function detectJsonLeaves(detectors: Detector[]): JsonLeafRewriter {
  return {
    string: (s) => maskText(s, detectors),
    // A number can be a card number; its mask is not a number, so it becomes a JSON string.
    number: (raw) => {
      const masked = maskText(raw, detectors);
      return masked === raw ? raw : JSON.stringify(masked);
    },
  };
}

function holdsCardNumber(value: Buffer, typeOid: number, format: Format, detectors: Detector[]): boolean {
  if (!detectors.includes('card')) return false;
  let digits: string | null;
  if (format === 0) digits = integerDigitsOfText(value.toString('latin1'));
  else if (typeOid === OID.int8) digits = value.length === 8 ? int8Digits(value.readBigInt64BE(0)) : null;
  else if (typeOid === OID.float8) digits = value.length === 8 ? float8IntegerDigits(value.readDoubleBE(0)) : null;
  else digits = numericBinaryIntegerDigits(value);
  return digits !== null && isPaymentCardNumber(digits);
}

/** "-4111111111111111", "4111111111111111.00", "4.111111111111111e+15" → the integer's digits, else null. */
function integerDigitsOfText(text: string): string | null {
  const m = /^\s*[-+]?(\d{1,40})(?:\.(\d{0,1000}))?\s*$/u.exec(text);
  if (m !== null) return /^0*$/u.test(m[2] ?? '') ? m[1]!.replace(/^0+(?=\d)/u, '') : null;
  if (text.length > 40) return null;
  const n = Number(text);
  return Number.isFinite(n) ? float8IntegerDigits(n) : null;
}

const int8Digits = (n: bigint): string => (n < 0n ? -n : n).toString();

// --- helpers -------------------------------------------------------------------

function maskTextBytes(value: Buffer, detectors: Detector[]): Buffer {
  const text = value.toString('utf8');
  const masked = maskText(text, detectors);
  return masked === text ? value : utf8(masked);
}

function findsAnything(bytes: Buffer, detectors: Detector[]): boolean {
  // latin1 maps each byte to one character, so ASCII findings in any encoding show up.
  const text = bytes.toString('latin1');
  return maskText(text, detectors) !== text;
}

/** char(n) keeps its length: the masked value is padded with spaces, or cut. */
function keepLength(text: string, mask: (s: string) => string): string {
  const length = Array.from(text).length;
  const masked = Array.from(mask(text));
  return masked.length >= length ? masked.slice(0, length).join('') : masked.join('') + ' '.repeat(length - masked.length);
}

function mapJson(value: Buffer, jsonbBinary: boolean, rewrite: JsonLeafRewriter): Buffer | null {
  if (jsonbBinary && value[0] !== JSONB_VERSION) return null;
  const body = (jsonbBinary ? value.subarray(1) : value).toString('utf8');
  const masked = rewriteJsonLeaves(body, rewrite);
  if (masked === null) return null;
  if (masked === body) return value;
  return jsonbBinary ? Buffer.concat([Buffer.from([JSONB_VERSION]), utf8(masked)]) : utf8(masked);
}

function mapArrayText(value: Buffer, rewrite: (element: string) => string | null): Buffer | null {
  const text = value.toString('utf8');
  const masked = rewriteArrayText(text, rewrite);
  if (masked === null) return null;
  return masked === text ? value : utf8(masked);
}

/** bytea_out: hex format "\x…" (default) or escape format with \\ and \ooo. */
function decodeByteaText(value: Buffer): Buffer {
  const text = value.toString('latin1');
  if (text.startsWith('\\x')) return Buffer.from(text.slice(2), 'hex');
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\' && text[i + 1] === '\\') {
      bytes.push(92);
      i++;
    } else if (text[i] === '\\' && /^[0-3][0-7]{2}$/u.test(text.slice(i + 1, i + 4))) {
      bytes.push(parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(text.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
