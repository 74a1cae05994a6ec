/**
 * Splits a byte stream into protocol messages. After startup every message is
 * Byte1(type) Int32(length, counting itself) Byte[length-4] — PostgreSQL docs,
 * "Message Formats" (protocol-message-formats.html). The startup-phase packets
 * (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest) have no type byte.
 */
export interface Frame {
  /** Message type byte; 0 for a startup-phase packet. */
  type: number;
  /** The message body after the length word. */
  payload: Buffer;
  /** The whole message as it arrived (header included), for forwarding unchanged. */
  raw: Buffer;
}

/** The peer broke the protocol; the message is safe to show (it never echoes payload bytes). */
export class ProtocolViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolViolation';
  }
}

/** 64 MiB: larger than any sane statement or row; PostgreSQL itself caps most messages at 1 GiB. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** PostgreSQL's own MAX_STARTUP_PACKET_LENGTH is 10000 bytes. */
export const MAX_STARTUP_PACKET_BYTES = 10_000;

export class MessageFramer {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(
    private readonly options: { typed: boolean; maxMessageBytes: number },
  ) {}

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Switches from startup-phase packets to typed messages (after the StartupMessage). */
  setTyped(typed: boolean, maxMessageBytes = this.options.maxMessageBytes): void {
    this.options.typed = typed;
    this.options.maxMessageBytes = maxMessageBytes;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete message, or undefined when more bytes are needed. Throws ProtocolViolation. */
  next(): Frame | undefined {
    const headerBytes = this.options.typed ? 5 : 4;
    if (this.buffered < headerBytes) return undefined;
    const head = this.peek(headerBytes);
    const length = this.options.typed ? head.readInt32BE(1) : head.readInt32BE(0);
    const minLength = this.options.typed ? 4 : 8;
    if (length < minLength) throw new ProtocolViolation(`invalid message length ${length}`);
    if (length > this.options.maxMessageBytes) {
      throw new ProtocolViolation(`message of ${length} bytes exceeds the limit of ${this.options.maxMessageBytes} bytes`);
    }
    const total = length + (this.options.typed ? 1 : 0);
    if (this.buffered < total) return undefined;
    const raw = this.take(total);
    return {
      type: this.options.typed ? raw[0]! : 0,
      payload: raw.subarray(headerBytes),
      raw,
    };
  }

  /** Bytes received but not yet framed (used to refuse data sent after an SSLRequest). */
  takeRemainder(): Buffer {
    return this.take(this.buffered);
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      // Merge only as many chunks as the message needs (one copy per large message).
      let size = 0;
      let count = 0;
      while (size < n) size += this.chunks[count++]!.length;
      first = Buffer.concat(this.chunks.slice(0, count), size);
      this.chunks.splice(0, count, first);
    }
    const out = first.subarray(0, n);
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
