/**
 * StartupMessage (docs "Message Formats": Int32 length, Int32 196608 for
 * protocol 3.0, name/value string pairs, a terminating zero byte). The
 * proxy writes its own: pg-protocol's serializer appends
 * client_encoding=UTF8 after the caller's parameters, which would silently
 * replace the caller's encoding.
 */
const PROTOCOL_3_0 = 196608;

export function encodeStartupMessage(parameters: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of parameters) {
    if (name.includes('\0') || value.includes('\0')) throw new Error(`startup parameter ${name.replace(/\0/g, '')} contains a zero byte`);
    parts.push(Buffer.from(`${name}\0${value}\0`, 'utf8'));
  }
  parts.push(Buffer.from([0]));
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeInt32BE(body.length + 8, 0);
  head.writeInt32BE(PROTOCOL_3_0, 4);
  return Buffer.concat([head, body]);
}

/** SSLRequest: Int32 8, Int32 80877103 — what a client sends before asking for TLS. */
export function encodeSslRequest(): Buffer {
  const packet = Buffer.alloc(8);
  packet.writeInt32BE(8, 0);
  packet.writeInt32BE(80877103, 4);
  return packet;
}

/** PasswordMessage: Byte1('p') Int32 length String(password). */
export function encodePasswordMessage(password: string): Buffer {
  const body = Buffer.from(`${password}\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('p', 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
