import { ProtocolViolation } from './framing.ts';
import { MessageReader, type TextDecoding } from './reader.ts';

/**
 * Decoders for what a client sends the proxy — PostgreSQL docs, "Message
 * Formats" (protocol-message-formats.html). One function per message type;
 * each validates lengths and rejects trailing bytes.
 */

/** Startup-phase request codes (Int32 after the length). */
export const PROTOCOL_3_0 = 196608; // 3 << 16
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;

export type StartupPacket =
  | { kind: 'startup'; protocolVersion: number; parameters: Record<string, string> }
  | { kind: 'ssl-request' }
  | { kind: 'gssenc-request' }
  | { kind: 'cancel-request'; processId: number; secretKey: number };

/** StartupMessage / SSLRequest / GSSENCRequest / CancelRequest (body after the length word). */
export function decodeStartupPacket(payload: Buffer): StartupPacket {
  const r = new MessageReader(payload, 'startup');
  const code = r.int32();
  if (code === SSL_REQUEST_CODE) {
    r.end();
    return { kind: 'ssl-request' };
  }
  if (code === GSSENC_REQUEST_CODE) {
    r.end();
    return { kind: 'gssenc-request' };
  }
  if (code === CANCEL_REQUEST_CODE) {
    const processId = r.int32();
    const secretKey = r.int32();
    r.end();
    return { kind: 'cancel-request', processId, secretKey };
  }
  const major = code >>> 16;
  if (major !== 3) throw new ProtocolViolation(`unsupported frontend protocol ${major}.${code & 0xffff}: server supports 3.0`);
  // Parameters are name/value string pairs ended by an empty name.
  const parameters: Record<string, string> = Object.create(null) as Record<string, string>;
  for (;;) {
    const name = r.cstring();
    if (name === '') break;
    parameters[name] = r.cstring();
  }
  r.end();
  return { kind: 'startup', protocolVersion: code, parameters };
}

export type FrontendMessage =
  | { type: 'Password'; password: string }
  | { type: 'Query'; text: string }
  | { type: 'Parse'; statement: string; text: string; parameterTypes: number[] }
  | { type: 'Bind'; portal: string; statement: string; parameterFormats: number[]; parameters: (Buffer | null)[]; resultFormats: number[] }
  | { type: 'Describe'; target: 'S' | 'P'; name: string }
  | { type: 'Execute'; portal: string; maxRows: number }
  | { type: 'Close'; target: 'S' | 'P'; name: string }
  | { type: 'Sync' }
  | { type: 'Flush' }
  | { type: 'Terminate' }
  | { type: 'CopyData'; data: Buffer }
  | { type: 'CopyDone' }
  | { type: 'CopyFail'; message: string }
  | { type: 'FunctionCall'; functionOid: number; argumentFormats: number[]; arguments: (Buffer | null)[]; resultFormat: number };

const empty = (payload: Buffer, what: string): void => {
  if (payload.length !== 0) throw new ProtocolViolation(`unexpected trailing bytes in ${what} message`);
};

export function decodePassword(payload: Buffer): FrontendMessage & { type: 'Password' } {
  const r = new MessageReader(payload, 'PasswordMessage');
  const password = r.cstring();
  r.end();
  return { type: 'Password', password };
}

export function decodeQuery(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'Query' } {
  const r = new MessageReader(payload, 'Query', decodeText);
  const text = r.cstring();
  r.end();
  return { type: 'Query', text };
}

export function decodeParse(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'Parse' } {
  const r = new MessageReader(payload, 'Parse', decodeText);
  const statement = r.cstring();
  const text = r.cstring();
  const n = r.count();
  const parameterTypes: number[] = [];
  for (let i = 0; i < n; i++) parameterTypes.push(r.int32() >>> 0);
  r.end();
  return { type: 'Parse', statement, text, parameterTypes };
}

export function decodeBind(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'Bind' } {
  const r = new MessageReader(payload, 'Bind', decodeText);
  const portal = r.cstring();
  const statement = r.cstring();
  const parameterFormats: number[] = [];
  for (let i = 0, n = r.count(); i < n; i++) parameterFormats.push(r.int16());
  const parameters: (Buffer | null)[] = [];
  for (let i = 0, n = r.count(); i < n; i++) parameters.push(r.value());
  const resultFormats: number[] = [];
  for (let i = 0, n = r.count(); i < n; i++) resultFormats.push(r.int16());
  r.end();
  return { type: 'Bind', portal, statement, parameterFormats, parameters, resultFormats };
}

function describeTarget(byte: number, what: string): 'S' | 'P' {
  if (byte === 0x53) return 'S';
  if (byte === 0x50) return 'P';
  throw new ProtocolViolation(`invalid ${what} target type`);
}

export function decodeDescribe(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'Describe' } {
  const r = new MessageReader(payload, 'Describe', decodeText);
  const target = describeTarget(r.byte(), 'Describe');
  const name = r.cstring();
  r.end();
  return { type: 'Describe', target, name };
}

export function decodeExecute(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'Execute' } {
  const r = new MessageReader(payload, 'Execute', decodeText);
  const portal = r.cstring();
  const maxRows = r.int32();
  r.end();
  return { type: 'Execute', portal, maxRows };
}

export function decodeClose(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'Close' } {
  const r = new MessageReader(payload, 'Close', decodeText);
  const target = describeTarget(r.byte(), 'Close');
  const name = r.cstring();
  r.end();
  return { type: 'Close', target, name };
}

export function decodeCopyFail(payload: Buffer, decodeText?: TextDecoding): FrontendMessage & { type: 'CopyFail' } {
  const r = new MessageReader(payload, 'CopyFail', decodeText);
  const message = r.cstring();
  r.end();
  return { type: 'CopyFail', message };
}

export function decodeFunctionCall(payload: Buffer): FrontendMessage & { type: 'FunctionCall' } {
  const r = new MessageReader(payload, 'FunctionCall');
  const functionOid = r.int32() >>> 0;
  const argumentFormats: number[] = [];
  for (let i = 0, n = r.count(); i < n; i++) argumentFormats.push(r.int16());
  const args: (Buffer | null)[] = [];
  for (let i = 0, n = r.count(); i < n; i++) args.push(r.value());
  const resultFormat = r.int16();
  r.end();
  return { type: 'FunctionCall', functionOid, argumentFormats, arguments: args, resultFormat };
}

/**
 * Decodes one typed message after startup. Unknown types are a protocol
 * violation (PostgreSQL answers FATAL 08P01). `text` reads SQL text in the
 * session's client encoding.
 */
export function decodeFrontendMessage(type: number, payload: Buffer, text?: TextDecoding): FrontendMessage {
  switch (type) {
    case 0x51 /* Q */:
      return decodeQuery(payload, text);
    case 0x50 /* P */:
      return decodeParse(payload, text);
    case 0x42 /* B */:
      return decodeBind(payload, text);
    case 0x44 /* D */:
      return decodeDescribe(payload, text);
    case 0x45 /* E */:
      return decodeExecute(payload, text);
    case 0x43 /* C */:
      return decodeClose(payload, text);
    case 0x53 /* S */:
      empty(payload, 'Sync');
      return { type: 'Sync' };
    case 0x48 /* H */:
      empty(payload, 'Flush');
      return { type: 'Flush' };
    case 0x58 /* X */:
      empty(payload, 'Terminate');
      return { type: 'Terminate' };
    case 0x64 /* d */:
      return { type: 'CopyData', data: payload };
    case 0x63 /* c */:
      empty(payload, 'CopyDone');
      return { type: 'CopyDone' };
    case 0x66 /* f */:
      return decodeCopyFail(payload, text);
    case 0x46 /* F */:
      return decodeFunctionCall(payload);
    case 0x70 /* p */:
      return decodePassword(payload);
    default:
      throw new ProtocolViolation(`invalid frontend message type ${type}`);
  }
}
