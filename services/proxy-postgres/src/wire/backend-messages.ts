import { MessageReader, type TextDecoding } from './reader.ts';

/**
 * Encoders for what the proxy itself sends a client — PostgreSQL docs,
 * "Message Formats" (protocol-message-formats.html). Messages the target
 * sends are forwarded as received unless masking rewrites them.
 */

function message(type: string, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = type.charCodeAt(0);
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

const int32 = (n: number): Buffer => {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
};
/** How text becomes the bytes of a string field: UTF-8 unless the session's client encoding says otherwise. */
export type TextEncoding = (text: string) => Buffer;
const utf8: TextEncoding = (s) => Buffer.from(s, 'utf8');
const cstring = (s: string, encode: TextEncoding = utf8): Buffer => Buffer.concat([encode(s), Buffer.from([0])]);

/** Answer to SSLRequest / GSSENCRequest: one unframed byte, 'S' (go ahead with TLS) or 'N'. */
export const encodeSslResponse = (accept: boolean): Buffer => Buffer.from(accept ? 'S' : 'N', 'latin1');

/** AuthenticationOk: Byte1('R') Int32(8) Int32(0). */
export const encodeAuthenticationOk = (): Buffer => message('R', int32(0));

/** AuthenticationCleartextPassword: Byte1('R') Int32(8) Int32(3). */
export const encodeAuthenticationCleartextPassword = (): Buffer => message('R', int32(3));

/** ParameterStatus: Byte1('S') name value. */
export const encodeParameterStatus = (name: string, value: string): Buffer => message('S', Buffer.concat([cstring(name), cstring(value)]));

/** BackendKeyData: Byte1('K') Int32(12) Int32(pid) Int32(secret). */
export const encodeBackendKeyData = (processId: number, secretKey: number): Buffer => message('K', Buffer.concat([int32(processId), int32(secretKey)]));

export type TransactionStatus = 'I' | 'T' | 'E';
/** ReadyForQuery: Byte1('Z') Int32(5) Byte1(status). */
export const encodeReadyForQuery = (status: TransactionStatus): Buffer => message('Z', Buffer.from(status, 'latin1'));

/**
 * ErrorResponse / NoticeResponse fields by their one-byte codes — docs,
 * "Error and Notice Message Fields" (protocol-error-fields.html).
 */
export interface NoticeFields {
  S: string; // severity (localized)
  V?: string; // severity (never localized)
  C: string; // SQLSTATE
  M: string; // message
  D?: string; // detail
  H?: string; // hint
  P?: string; // position
  p?: string; // internal position
  q?: string; // internal query
  W?: string; // where
  s?: string; // schema
  t?: string; // table
  c?: string; // column
  d?: string; // data type
  n?: string; // constraint
  F?: string; // file
  L?: string; // line
  R?: string; // routine
}

/** Field order PostgreSQL itself uses (S V C M D H P p q W s t c d n F L R). */
const FIELD_ORDER = ['S', 'V', 'C', 'M', 'D', 'H', 'P', 'p', 'q', 'W', 's', 't', 'c', 'd', 'n', 'F', 'L', 'R'] as const;

function encodeFields(fields: NoticeFields, encode?: TextEncoding): Buffer {
  const parts: Buffer[] = [];
  for (const code of FIELD_ORDER) {
    const value = fields[code];
    if (value === undefined) continue;
    parts.push(Buffer.from(code, 'latin1'), cstring(value.replace(/\0/g, ''), encode));
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

/** ErrorResponse: Byte1('E') then the fields, each Byte1(code) String(value), ended by a zero byte. */
export const encodeErrorResponse = (fields: NoticeFields, encode?: TextEncoding): Buffer => message('E', encodeFields(fields, encode));

/** NoticeResponse: same layout as ErrorResponse with type 'N'. */
export const encodeNoticeResponse = (fields: NoticeFields, encode?: TextEncoding): Buffer => message('N', encodeFields(fields, encode));

/** Decodes ErrorResponse/NoticeResponse fields keeping their codes (re-encoded after masking). */
export function decodeNoticeFields(payload: Buffer, text?: TextDecoding): NoticeFields {
  const r = new MessageReader(payload, 'ErrorResponse', text);
  const fields: Record<string, string> = {};
  for (;;) {
    const code = r.byte();
    if (code === 0) break;
    fields[String.fromCharCode(code)] = r.cstring();
  }
  return { S: fields.S ?? 'ERROR', C: fields.C ?? 'XX000', M: fields.M ?? '', ...fields } as NoticeFields;
}

/** DataRow: Byte1('D') Int16(count) then per field Int32(length, -1 = NULL) Byte[length]. */
export function encodeDataRow(values: readonly (Buffer | null)[]): Buffer {
  let size = 2;
  for (const v of values) size += 4 + (v ? v.length : 0);
  const out = Buffer.allocUnsafe(5 + size);
  out[0] = 0x44;
  out.writeInt32BE(4 + size, 1);
  out.writeInt16BE(values.length, 5);
  let at = 7;
  for (const v of values) {
    if (v === null) {
      out.writeInt32BE(-1, at);
      at += 4;
    } else {
      out.writeInt32BE(v.length, at);
      v.copy(out, at + 4);
      at += 4 + v.length;
    }
  }
  return out;
}

/**
 * The fields of a DataRow the target sent, as raw bytes. pg-protocol's parser
 * decodes DataRow values to UTF-8 strings, which would corrupt binary-format
 * values, so this one decoder is our own.
 */
export function decodeDataRow(payload: Buffer): (Buffer | null)[] {
  const r = new MessageReader(payload, 'DataRow');
  const n = r.count();
  const values: (Buffer | null)[] = new Array(n);
  for (let i = 0; i < n; i++) values[i] = r.value();
  r.end();
  return values;
}

/** CopyData: Byte1('d') Int32(4 + n) Byte[n]. */
export const encodeCopyData = (data: Buffer): Buffer => message('d', data);

/** CommandComplete: Byte1('C') String(tag). */
export const encodeCommandComplete = (tag: string): Buffer => message('C', cstring(tag));

/** NegotiateProtocolVersion: Byte1('v') Int32 newest minor version, Int32 count, the unrecognised `_pq_.` options. */
export function encodeNegotiateProtocolVersion(newestMinor: number, unrecognised: readonly string[]): Buffer {
  return message('v', Buffer.concat([int32(newestMinor), int32(unrecognised.length), ...unrecognised.map((n) => cstring(n))]));
}
