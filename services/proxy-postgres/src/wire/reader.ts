import { ProtocolViolation } from './framing.ts';

/** Bounds-checked reader over one message body: a short or overlong body is a ProtocolViolation, never a crash. */
/** How the bytes of a string field become text: UTF-8 unless the session's client encoding says otherwise. */
export type TextDecoding = (bytes: Buffer) => string;
const utf8: TextDecoding = (bytes) => bytes.toString('utf8');

export class MessageReader {
  private offset = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
    private readonly text: TextDecoding = utf8,
  ) {}

  private need(n: number): void {
    if (n < 0 || this.offset + n > this.buf.length) throw new ProtocolViolation(`truncated ${this.what} message`);
  }
  byte(): number {
    this.need(1);
    return this.buf[this.offset++]!;
  }
  int16(): number {
    this.need(2);
    const v = this.buf.readInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  int32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  count(): number {
    const n = this.int16();
    if (n < 0) throw new ProtocolViolation(`negative count in ${this.what} message`);
    return n;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.offset);
    if (end < 0) throw new ProtocolViolation(`unterminated string in ${this.what} message`);
    const v = this.text(this.buf.subarray(this.offset, end));
    this.offset = end + 1;
    return v;
  }
  /** Length-prefixed value (Int32 length, -1 = NULL). */
  value(): Buffer | null {
    const n = this.int32();
    if (n === -1) return null;
    if (n < -1) throw new ProtocolViolation(`invalid value length in ${this.what} message`);
    return this.bytes(n);
  }
  rest(): Buffer {
    const v = this.buf.subarray(this.offset);
    this.offset = this.buf.length;
    return v;
  }
  end(): void {
    if (this.offset !== this.buf.length) throw new ProtocolViolation(`unexpected trailing bytes in ${this.what} message`);
  }
}
