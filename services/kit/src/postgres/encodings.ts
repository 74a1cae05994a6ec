/**
 * PostgreSQL's character set names (docs "Character Set Support", table
 * "PostgreSQL Character Sets") as the gateway needs them: which encodings a
 * caller may use, and which WHATWG decoder reads the caller's bytes.
 *
 * The rule that makes an encoding safe: in every server encoding each byte
 * below 0x80 is the ASCII character, and multibyte characters use only bytes
 * from 0x80 up. Quotes, backslashes, semicolons and comment markers are then
 * the same bytes whatever the encoding, so the gateway and the target split a
 * statement alike. The client-only encodings (SJIS, BIG5, GBK, GB18030, UHC,
 * JOHAB, SHIFT_JIS_2004) put ASCII bytes such as `\` (0x5c) and `'` in the
 * second byte of a character (the CVE-2006-2313 family): they are refused.
 */

export type EncodingSafety = 'ascii-safe' | 'client-only';

export interface PostgresEncoding {
  /** The canonical name PostgreSQL reports, e.g. LATIN1, UTF8, EUC_JP. */
  name: string;
  safety: EncodingSafety;
  /**
   * How the gateway reads the caller's bytes: a WHATWG TextDecoder label,
   * 'latin1' (one byte = one code point, what ISO 8859-1 is), 'utf8', or
   * 'server' (SQL_ASCII: no conversion, the bytes are the server encoding's).
   * Undefined: PostgreSQL knows it but the gateway cannot decode it, so it is refused.
   */
  decoder?: string;
}

const ENCODINGS: PostgresEncoding[] = [
  { name: 'UTF8', safety: 'ascii-safe', decoder: 'utf8' },
  { name: 'SQL_ASCII', safety: 'ascii-safe', decoder: 'server' },
  { name: 'LATIN1', safety: 'ascii-safe', decoder: 'latin1' },
  { name: 'LATIN2', safety: 'ascii-safe', decoder: 'iso-8859-2' },
  { name: 'LATIN3', safety: 'ascii-safe', decoder: 'iso-8859-3' },
  { name: 'LATIN4', safety: 'ascii-safe', decoder: 'iso-8859-4' },
  { name: 'LATIN5', safety: 'ascii-safe', decoder: 'windows-1254' /* WHATWG reads ISO 8859-9 as its superset windows-1254 */ },
  { name: 'LATIN6', safety: 'ascii-safe', decoder: 'iso-8859-10' },
  { name: 'LATIN7', safety: 'ascii-safe', decoder: 'iso-8859-13' },
  { name: 'LATIN8', safety: 'ascii-safe', decoder: 'iso-8859-14' },
  { name: 'LATIN9', safety: 'ascii-safe', decoder: 'iso-8859-15' },
  { name: 'LATIN10', safety: 'ascii-safe' },
  { name: 'ISO_8859_5', safety: 'ascii-safe', decoder: 'iso-8859-5' },
  { name: 'ISO_8859_6', safety: 'ascii-safe', decoder: 'iso-8859-6' },
  { name: 'ISO_8859_7', safety: 'ascii-safe', decoder: 'iso-8859-7' },
  { name: 'ISO_8859_8', safety: 'ascii-safe', decoder: 'iso-8859-8' },
  { name: 'WIN866', safety: 'ascii-safe', decoder: 'ibm866' },
  { name: 'WIN874', safety: 'ascii-safe', decoder: 'windows-874' },
  { name: 'WIN1250', safety: 'ascii-safe', decoder: 'windows-1250' },
  { name: 'WIN1251', safety: 'ascii-safe', decoder: 'windows-1251' },
  { name: 'WIN1252', safety: 'ascii-safe', decoder: 'windows-1252' },
  { name: 'WIN1253', safety: 'ascii-safe', decoder: 'windows-1253' },
  { name: 'WIN1254', safety: 'ascii-safe', decoder: 'windows-1254' },
  { name: 'WIN1255', safety: 'ascii-safe', decoder: 'windows-1255' },
  { name: 'WIN1256', safety: 'ascii-safe', decoder: 'windows-1256' },
  { name: 'WIN1257', safety: 'ascii-safe', decoder: 'windows-1257' },
  { name: 'WIN1258', safety: 'ascii-safe', decoder: 'windows-1258' },
  { name: 'KOI8R', safety: 'ascii-safe', decoder: 'koi8-r' },
  { name: 'KOI8U', safety: 'ascii-safe', decoder: 'koi8-u' },
  { name: 'EUC_JP', safety: 'ascii-safe', decoder: 'euc-jp' },
  { name: 'EUC_KR', safety: 'ascii-safe', decoder: 'euc-kr' },
  { name: 'EUC_CN', safety: 'ascii-safe', decoder: 'gbk' /* GB 2312 in EUC form; GBK is its superset */ },
  { name: 'EUC_TW', safety: 'ascii-safe' },
  { name: 'EUC_JIS_2004', safety: 'ascii-safe' },
  { name: 'MULE_INTERNAL', safety: 'ascii-safe' },
  { name: 'SJIS', safety: 'client-only' },
  { name: 'SHIFT_JIS_2004', safety: 'client-only' },
  { name: 'BIG5', safety: 'client-only' },
  { name: 'GBK', safety: 'client-only' },
  { name: 'GB18030', safety: 'client-only' },
  { name: 'UHC', safety: 'client-only' },
  { name: 'JOHAB', safety: 'client-only' },
];

/** PostgreSQL's aliases (src/common/encnames.c, pg_encname_tbl), keyed like its clean_encoding_name(). */
const ALIASES: Record<string, string> = {
  abc: 'WIN1258',
  alt: 'WIN866',
  iso88591: 'LATIN1',
  iso88592: 'LATIN2',
  iso88593: 'LATIN3',
  iso88594: 'LATIN4',
  iso88599: 'LATIN5',
  iso885910: 'LATIN6',
  iso885913: 'LATIN7',
  iso885914: 'LATIN8',
  iso885915: 'LATIN9',
  iso885916: 'LATIN10',
  iso88595: 'ISO_8859_5',
  iso88596: 'ISO_8859_6',
  iso88597: 'ISO_8859_7',
  iso88598: 'ISO_8859_8',
  koi8: 'KOI8R',
  mskanji: 'SJIS',
  shiftjis: 'SJIS',
  tcvn: 'WIN1258',
  tcvn5712: 'WIN1258',
  unicode: 'UTF8',
  vscii: 'WIN1258',
  win: 'WIN1251',
  win932: 'SJIS',
  win936: 'GBK',
  win949: 'UHC',
  win950: 'BIG5',
  windows932: 'SJIS',
  windows936: 'GBK',
  windows949: 'UHC',
  windows950: 'BIG5',
};

/** clean_encoding_name(): lower case, only letters and digits. */
const cleaned = (name: string): string => name.toLowerCase().replace(/[^a-z0-9]/g, '');

const BY_KEY = new Map<string, PostgresEncoding>();
for (const e of ENCODINGS) BY_KEY.set(cleaned(e.name), e);
for (const e of ENCODINGS.filter((x) => x.name.startsWith('WIN'))) BY_KEY.set(`windows${e.name.slice(3)}`, e);
for (const [alias, name] of Object.entries(ALIASES)) BY_KEY.set(alias, ENCODINGS.find((e) => e.name === name)!);

/** The encoding PostgreSQL would take `name` for (any spelling it accepts), or undefined when it knows no such encoding. */
export function postgresEncoding(name: string): PostgresEncoding | undefined {
  return BY_KEY.get(cleaned(name));
}

export type ClientEncodingJudgement =
  | { ok: true; encoding: PostgresEncoding }
  | { ok: false; reason: string };

/** Whether a caller may speak `name`: ASCII-safe and decodable by the gateway. */
export function judgeClientEncoding(name: string): ClientEncodingJudgement {
  const encoding = postgresEncoding(name);
  if (!encoding) return { ok: false, reason: `"${name}" is not a PostgreSQL encoding` };
  if (encoding.safety === 'client-only') {
    return {
      ok: false,
      reason: `client encoding ${encoding.name} is refused: its multibyte characters can contain the bytes of \\ and ', so the gateway and the database could split a statement differently`,
    };
  }
  if (!encoding.decoder) return { ok: false, reason: `client encoding ${encoding.name} is not supported by Portcullis` };
  return { ok: true, encoding };
}
