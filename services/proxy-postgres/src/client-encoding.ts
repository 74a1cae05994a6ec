/**
 * The caller's client_encoding, as the proxy reads and writes it. The target
 * speaks the caller's encoding (it converts to and from the database's), so
 * the bytes that pass through are the caller's; the proxy decodes SQL text
 * with this codec for the policy decision and re-encodes masked values.
 *
 * Which encodings are allowed is decided by the one list in
 * kit/postgres/encodings.ts; this file only turns a decoder label into a
 * strict codec. Strict: bytes that are not valid in the encoding (which
 * PostgreSQL would refuse too) are an error, never a U+FFFD the policy
 * decision would judge in place of what the target sees.
 */
import { judgeClientEncoding, postgresEncoding } from '@portcullis/kit';

export interface TextCodec {
  /** PostgreSQL's name for the encoding, e.g. UTF8, LATIN1. */
  name: string;
  /** UTF-8 needs no conversion: the proxy's Buffers are already what the masking reads. */
  isUtf8: boolean;
  decode(bytes: Buffer): string;
  encode(text: string): Buffer;
}

export class InvalidClientText extends Error {
  constructor(encoding: string) {
    super(`invalid byte sequence for encoding "${encoding}"`);
    this.name = 'InvalidClientText';
  }
}

export const UTF8_CODEC: TextCodec = {
  name: 'UTF8',
  isUtf8: true,
  // PostgreSQL refuses invalid UTF-8 itself; the proxy keeps its lenient decoding here (U+FFFD never hides ASCII).
  decode: (bytes) => bytes.toString('utf8'),
  encode: (text) => Buffer.from(text, 'utf8'),
};

const LATIN1_CODEC: TextCodec = {
  name: 'LATIN1',
  isUtf8: false,
  decode: (bytes) => bytes.toString('latin1'),
  encode: (text) => {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) throw new InvalidClientText('LATIN1');
    return Buffer.from(text, 'latin1');
  },
};

/** Byte ranges of the characters each multibyte EUC encoding has (docs "Character Set Support"); the reverse table is built from them. */
const MULTIBYTE_RANGES: Record<string, Array<{ prefix: number[]; lead: [number, number]; trail: [number, number] }>> = {
  'euc-jp': [
    { prefix: [], lead: [0xa1, 0xfe], trail: [0xa1, 0xfe] },
    { prefix: [], lead: [0x8e, 0x8e], trail: [0xa1, 0xdf] },
    { prefix: [0x8f], lead: [0xa1, 0xfe], trail: [0xa1, 0xfe] },
  ],
  'euc-kr': [{ prefix: [], lead: [0xa1, 0xfe], trail: [0xa1, 0xfe] }],
  gbk: [{ prefix: [], lead: [0xa1, 0xf7], trail: [0xa1, 0xfe] }],
};

/** Each non-ASCII character of the encoding → its bytes, by decoding every byte sequence the encoding has. */
function reverseTable(label: string): Map<string, Buffer> {
  const decoder = new TextDecoder(label, { fatal: true });
  const table = new Map<string, Buffer>();
  const add = (bytes: number[]): void => {
    let text: string;
    try {
      text = decoder.decode(Uint8Array.from(bytes));
    } catch {
      return;
    }
    if ([...text].length === 1 && !table.has(text)) table.set(text, Buffer.from(bytes));
  };
  const ranges = MULTIBYTE_RANGES[label];
  if (!ranges) {
    for (let b = 0x80; b <= 0xff; b++) add([b]);
    return table;
  }
  for (const { prefix, lead, trail } of ranges) {
    for (let a = lead[0]; a <= lead[1]; a++) for (let b = trail[0]; b <= trail[1]; b++) add([...prefix, a, b]);
  }
  return table;
}

function whatwgCodec(name: string, label: string): TextCodec {
  const decoder = new TextDecoder(label, { fatal: true });
  let table: Map<string, Buffer> | undefined;
  const encode = (text: string): Buffer => {
    table ??= reverseTable(label);
    const parts: Buffer[] = [];
    let ascii = '';
    for (const ch of text) {
      if (ch.charCodeAt(0) < 0x80) {
        ascii += ch;
        continue;
      }
      const bytes = table.get(ch);
      if (!bytes) throw new InvalidClientText(name);
      if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
      ascii = '';
      parts.push(bytes);
    }
    if (ascii) parts.push(Buffer.from(ascii, 'latin1'));
    return Buffer.concat(parts);
  };
  return {
    name,
    isUtf8: false,
    decode: (bytes) => {
      if (isAscii(bytes)) return bytes.toString('latin1');
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch {
        throw new InvalidClientText(name);
      }
      // WHATWG decoders read supersets (windows-1254 for LATIN5, GBK for EUC_CN): only text that maps back to the same bytes is what PostgreSQL reads.
      if (!encode(text).equals(bytes)) throw new InvalidClientText(name);
      return text;
    },
    encode,
  };
}

export function isAscii(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! >= 0x80) return false;
  return true;
}

const cache = new Map<string, TextCodec>();

/**
 * The codec for what the target reports as client_encoding (and
 * server_encoding, which SQL_ASCII clients receive unconverted). Throws
 * when the encoding is one the gateway refuses.
 */
export function codecFor(clientEncoding: string, serverEncoding?: string): TextCodec {
  const judged = judgeClientEncoding(clientEncoding);
  if (!judged.ok) throw new Error(judged.reason);
  let { encoding } = judged;
  if (encoding.decoder === 'server') {
    // SQL_ASCII: no conversion, the caller gets the database's own bytes (a SQL_ASCII database: bytes read as UTF-8).
    const server = serverEncoding ? postgresEncoding(serverEncoding) : undefined;
    if (!server || server.decoder === 'server' || !server.decoder) return UTF8_CODEC;
    encoding = server;
  }
  const cached = cache.get(encoding.name);
  if (cached) return cached;
  const codec = encoding.decoder === 'utf8' ? UTF8_CODEC : encoding.decoder === 'latin1' ? LATIN1_CODEC : whatwgCodec(encoding.name, encoding.decoder!);
  cache.set(encoding.name, codec);
  return codec;
}

/** For texts the target or the proxy writes (notices, errors): never fails; what will not convert shows as '?'. */
export function lenientText(codec: TextCodec): { decode: (bytes: Buffer) => string; encode: (text: string) => Buffer } {
  if (codec.isUtf8) return { decode: codec.decode, encode: codec.encode };
  return {
    decode: (bytes) => {
      try {
        return codec.decode(bytes);
      } catch {
        return bytes.toString('latin1');
      }
    },
    encode: (text) => {
      try {
        return codec.encode(text);
      } catch {
        return Buffer.from([...text].map((ch) => (ch.charCodeAt(0) < 0x80 ? ch : '?')).join(''), 'latin1');
      }
    },
  };
}
