// COPY … TO STDOUT in text format (docs: COPY, "File Formats — Text Format"):
// one row per line, columns separated by a tab, \N for NULL, and backslash
// escapes for backslash and control characters. Data tabs and newlines are
// always escaped, so raw tab bytes are column separators and a raw newline
// ends the line.
import type { Detector } from '@portcullis/schemas';
import { maskFieldValue, type ColumnMask } from './field-value.ts';

const TAB = 0x09;
const NEWLINE = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const NULL_MARKER = Buffer.from('\\N');
const DETECT_ONLY: ColumnMask = { strategy: 'detect' };

/** Masks one line of COPY TO STDOUT text format (tab-separated, \N for NULL, backslash escapes per the COPY docs), given per-column masks (undefined = only detectors). */
export function maskCopyTextLine(line: Buffer, columns: (ColumnMask | undefined)[], typeOids: number[], detectors: Detector[]): Buffer {
  let bodyEnd = line.length;
  if (bodyEnd > 0 && line[bodyEnd - 1] === NEWLINE) bodyEnd--;
  if (bodyEnd > 0 && line[bodyEnd - 1] === CR) bodyEnd--;
  const body = line.subarray(0, bodyEnd);
  if (body.length === 2 && body[0] === BACKSLASH && body[1] === 0x2e) return line; // \. end-of-data marker

  const fields = splitFields(body);
  let changed = false;
  const out: Buffer[] = [];
  fields.forEach((raw, index) => {
    const mask = columns[index] ?? DETECT_ONLY;
    const typeOid = typeOids[index] ?? 0; // a column we have no type for is treated as unknown text
    const value = raw.equals(NULL_MARKER) ? null : decodeCopyText(raw);
    const masked = maskFieldValue(value, typeOid, 0, mask, detectors);
    if (masked === value || (masked !== null && value !== null && masked.equals(value))) {
      out.push(raw);
      return;
    }
    changed = true;
    out.push(masked === null ? NULL_MARKER : encodeCopyText(masked));
  });
  if (!changed) return line;
  const joined: Buffer[] = [];
  out.forEach((f, k) => {
    if (k > 0) joined.push(Buffer.from([TAB]));
    joined.push(f);
  });
  joined.push(line.subarray(bodyEnd));
  return Buffer.concat(joined);
}

function splitFields(body: Buffer): Buffer[] {
  const fields: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= body.length; i++) {
    if (i === body.length || body[i] === TAB) {
      fields.push(body.subarray(start, i));
      start = i + 1;
    }
  }
  return fields;
}

const ESCAPES: Record<number, number> = {
  0x62 /* b */: 0x08, 0x66 /* f */: 0x0c, 0x6e /* n */: 0x0a, 0x72 /* r */: 0x0d, 0x74 /* t */: 0x09, 0x76 /* v */: 0x0b,
};

const isOctal = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x37;
const hexValue = (c: number | undefined): number => {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
};

/** Undoes the COPY text escapes: \b \f \n \r \t \v, \ooo (1–3 octal digits), \xhh (1–2 hex digits), \c → c. */
export function decodeCopyText(raw: Buffer): Buffer {
  if (!raw.includes(BACKSLASH)) return raw;
  const out: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c !== BACKSLASH || i + 1 >= raw.length) {
      out.push(c);
      continue;
    }
    const e = raw[++i]!;
    if (ESCAPES[e] !== undefined) out.push(ESCAPES[e]);
    else if (isOctal(e)) {
      let v = e - 0x30;
      for (let k = 0; k < 2 && isOctal(raw[i + 1]); k++) v = v * 8 + (raw[++i]! - 0x30);
      out.push(v & 0xff);
    } else if (e === 0x78 /* x */ && hexValue(raw[i + 1]) !== -1) {
      let v = hexValue(raw[++i]);
      if (hexValue(raw[i + 1]) !== -1) v = v * 16 + hexValue(raw[++i]);
      out.push(v);
    } else out.push(e);
  }
  return Buffer.from(out);
}

/** Escapes the way COPY TO does: backslash and the control characters with a letter escape. */
export function encodeCopyText(value: Buffer): Buffer {
  const out: number[] = [];
  for (const c of value) {
    const letter = c === BACKSLASH ? BACKSLASH : c === 0x08 ? 0x62 : c === 0x0c ? 0x66 : c === 0x0a ? 0x6e : c === 0x0d ? 0x72 : c === 0x09 ? 0x74 : c === 0x0b ? 0x76 : -1;
    if (letter === -1) out.push(c);
    else out.push(BACKSLASH, letter);
  }
  return Buffer.from(out);
}
