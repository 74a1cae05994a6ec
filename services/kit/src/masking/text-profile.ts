// What a text is made of, counted in one pass so findSensitive can skip the
// scanners that cannot match. Each scanner file states its own pre-check on a
// profile (a necessary condition for any of its findings); most strings of a
// JSON document have no digits, no '@' and no long token, and cost this pass only.
import { isBase64Url, isDigit, isUpper } from './characters.ts';

export interface TextProfile {
  /** Code units 0-9. */
  digits: number;
  /** Code units A-Z. */
  upper: number;
  at: number;
  dots: number;
  dashes: number;
  /** ':' and '=' together: the assignment operators and URL schemes. */
  colonsOrEquals: number;
  /** '+', '(', ' ' and '/': what a phone number has besides digits, dots and dashes. */
  phoneMarks: number;
  /** 's' and 'S': every SSN label has one. */
  letterS: number;
  /** Length of the longest run of base64url characters. */
  longestBase64UrlRun: number;
  length: number;
}

// Character classes by ASCII code, one table lookup per character: the pass
// runs over every string value and key of a masked document.
const OTHER = 0;
const DIGIT = 1;
const UPPER = 2;
const DASH = 3;
const OTHER_BASE64URL = 4; // a-z, _
const AT = 5;
const DOT = 6;
const COLON_OR_EQUALS = 7;
const PHONE_MARK = 8;
const LETTER_S = 9; // a base64url character too
const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (isDigit(c)) CLASS[c] = DIGIT;
  else if (isUpper(c)) CLASS[c] = UPPER;
  else if (c === 45) CLASS[c] = DASH;
  else if (isBase64Url(c)) CLASS[c] = OTHER_BASE64URL;
  else if (c === 64) CLASS[c] = AT;
  else if (c === 46) CLASS[c] = DOT;
  else if (c === 58 || c === 61) CLASS[c] = COLON_OR_EQUALS;
  else if (c === 43 || c === 40 || c === 32 || c === 47) CLASS[c] = PHONE_MARK;
}
CLASS[83] = LETTER_S; // S
CLASS[115] = LETTER_S; // s

// One profile reused by every call: findSensitive is synchronous and runs for
// every string of a document, so it allocates nothing here.
const shared: TextProfile = { digits: 0, upper: 0, at: 0, dots: 0, dashes: 0, colonsOrEquals: 0, phoneMarks: 0, letterS: 0, longestBase64UrlRun: 0, length: 0 };

/** Profiles `text`. The result is overwritten by the next call: read it before profiling again. */
export function profileText(text: string): TextProfile {
  let digits = 0;
  let upper = 0;
  let at = 0;
  let dots = 0;
  let dashes = 0;
  let colonsOrEquals = 0;
  let phoneMarks = 0;
  let letterS = 0;
  let run = 0;
  let longest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const cls = c < 128 ? CLASS[c]! : OTHER;
    if ((cls >= DIGIT && cls <= OTHER_BASE64URL) || cls === LETTER_S) {
      run++;
      if (cls === DIGIT) digits++;
      else if (cls === UPPER) upper++;
      else if (cls === DASH) dashes++;
      else if (cls === LETTER_S) {
        letterS++;
        if (c === 83) upper++;
      }
      continue;
    }
    if (run > longest) longest = run;
    run = 0;
    if (cls === AT) at++;
    else if (cls === DOT) dots++;
    else if (cls === COLON_OR_EQUALS) colonsOrEquals++;
    else if (cls === PHONE_MARK) phoneMarks++;
  }
  shared.digits = digits;
  shared.upper = upper;
  shared.at = at;
  shared.dots = dots;
  shared.dashes = dashes;
  shared.colonsOrEquals = colonsOrEquals;
  shared.phoneMarks = phoneMarks;
  shared.letterS = letterS;
  shared.longestBase64UrlRun = run > longest ? run : longest;
  shared.length = text.length;
  return shared;
}
