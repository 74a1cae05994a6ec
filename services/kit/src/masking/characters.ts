// Character classes the scanners share. They work on UTF-16 code units from
// charCodeAt; an index past the end gives NaN, which every class rejects, so
// callers need no bounds checks.

export const isDigit = (c: number): boolean => c >= 48 && c <= 57;
export const isUpper = (c: number): boolean => c >= 65 && c <= 90;
export const isLower = (c: number): boolean => c >= 97 && c <= 122;
export const isAlpha = (c: number): boolean => isUpper(c) || isLower(c);
export const isAlnum = (c: number): boolean => isDigit(c) || isAlpha(c);
/** base64url alphabet (RFC 4648 §5): the characters of JWT parts and most API tokens. */
export const isBase64Url = (c: number): boolean => isAlnum(c) || c === 45 /* - */ || c === 95 /* _ */;

export const code = (s: string): number => s.charCodeAt(0);

/** True when the character at `i` continues a word, so a match may not start or end there. */
export function isWordCharAt(text: string, i: number): boolean {
  return isAlnum(text.charCodeAt(i));
}
