// Decoders for the binary send formats masking needs to look inside
// (src/backend/utils/adt/*.c, the *_send functions).

/** numeric_send: ndigits, weight, sign, dscale (int16 each), then base-10000 digits. Returns the integer digits when the value is integral. */
export function numericBinaryIntegerDigits(value: Buffer): string | null {
  if (value.length < 8) return null;
  const ndigits = value.readInt16BE(0);
  const weight = value.readInt16BE(2);
  const sign = value.readUInt16BE(4);
  if (sign !== 0x0000 && sign !== 0x4000) return null; // NaN, ±Infinity
  if (value.length !== 8 + 2 * ndigits) return null;
  const digit = (k: number): number => (k < ndigits ? value.readInt16BE(8 + 2 * k) : 0);
  for (let k = Math.max(0, weight + 1); k < ndigits; k++) if (digit(k) !== 0) return null; // a fraction
  if (weight < 0 || weight > 8) return weight < 0 ? '0' : null;
  let out = String(digit(0));
  for (let k = 1; k <= weight; k++) out += String(digit(k)).padStart(4, '0');
  return out;
}

/** The integer digits of a float8 that holds an integer exactly, else null. */
export function float8IntegerDigits(n: number): string | null {
  if (!Number.isSafeInteger(n)) return null;
  return String(Math.abs(n));
}

/**
 * array_send: ndim, has-null flag, element OID, (length, lower bound) per
 * dimension, then each element as int32 length (-1 for NULL) and bytes.
 * Rewrites the elements; returns null when the buffer is not a binary array.
 */
export function rewriteArrayBinary(value: Buffer, rewrite: (element: Buffer) => Buffer | null): Buffer | null {
  if (value.length < 12) return null;
  const ndim = value.readInt32BE(0);
  if (ndim < 0 || ndim > 6 || value.length < 12 + 8 * ndim) return null;
  let count = ndim === 0 ? 0 : 1;
  for (let d = 0; d < ndim; d++) count *= value.readInt32BE(12 + 8 * d);
  const header = Buffer.from(value.subarray(0, 12 + 8 * ndim));
  const parts: Buffer[] = [header];
  let hasNull = false;
  let at = 12 + 8 * ndim;
  for (let k = 0; k < count; k++) {
    if (at + 4 > value.length) return null;
    const len = value.readInt32BE(at);
    at += 4;
    if (len === -1) {
      parts.push(int32(-1));
      hasNull = true;
      continue;
    }
    if (len < 0 || at + len > value.length) return null;
    const replaced = rewrite(value.subarray(at, at + len));
    at += len;
    if (replaced === null) {
      parts.push(int32(-1));
      hasNull = true;
    } else parts.push(int32(replaced.length), replaced);
  }
  if (at !== value.length) return null;
  header.writeInt32BE(hasNull ? 1 : 0, 4);
  return Buffer.concat(parts);
}

export function arrayBinaryElementOid(value: Buffer): number | null {
  return value.length >= 12 ? value.readUInt32BE(8) : null;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}
