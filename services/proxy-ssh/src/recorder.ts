import { StringDecoder } from 'node:string_decoder';
import type { Detector } from '@portcullis/schemas';
import { maskText } from '@portcullis/kit';
/** asciicast v2 event: [seconds since the session opened, 'o' output | 'i' input | 'r' resize, data]. */
export type AsciicastEvent = [number, 'o' | 'i' | 'r', string];

export interface StreamRecorderOptions {
  /** Seconds since session start (the asciicast clock). */
  clock: () => number;
  /** Publishes one batch. */
  emit: (batch: { stream: AsciicastEvent[]; truncated: boolean }) => void;
  /** Content detectors to mask with (from a mask verdict); empty = record as is. */
  detectors: readonly Detector[];
  recordInput: boolean;
  flushMs: number;
  batchBytes: number;
  /** Past this many recorded bytes the channel's record stops and says truncated; 0 records nothing. */
  maxBytes: number;
}

/**
 * One channel's terminal stream as asciicast v2 events
 * (https://docs.asciinema.org/manual/asciicast/v2/#event-stream):
 * [seconds, "o", output], [seconds, "i", input], [seconds, "r", "COLSxROWS"].
 * Batched every `flushMs` or `batchBytes`, whichever comes first. Bytes are
 * decoded as UTF-8 across chunk boundaries. When masking, consecutive output
 * events of a batch are merged first so a value split between two reads is
 * still found.
 */
export class StreamRecorder {
  private batch: AsciicastEvent[] = [];
  private batchSize = 0;
  private recorded = 0;
  private truncated = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly out = new StringDecoder('utf8');
  private readonly inp = new StringDecoder('utf8');
  private closed = false;

  constructor(private readonly options: StreamRecorderOptions) {}

  output(data: Buffer): void {
    // Past the cap nothing is decoded: a large transfer costs one comparison per chunk.
    if (this.truncated || this.closed) return;
    this.add('o', this.out.write(data), data.length);
  }

  input(data: Buffer): void {
    if (this.options.recordInput && !this.truncated && !this.closed) this.add('i', this.inp.write(data), data.length);
  }

  /** A message the gateway itself showed the caller (refusals), recorded as output. */
  notice(text: string): void {
    this.add('o', text, Buffer.byteLength(text));
  }

  /** A zero dimension means "not given" (RFC 4254 §6.2: `ssh -tt` without a local terminal sends 0x0): nothing to record. */
  resize(cols: number, rows: number): void {
    if (!(cols > 0 && rows > 0)) return;
    this.add('r', `${cols}x${rows}`, 8);
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    let stream = this.batch;
    this.batch = [];
    this.batchSize = 0;
    if (this.options.detectors.length > 0) stream = maskStream(stream, this.options.detectors);
    this.options.emit({ stream, truncated: this.truncated });
  }

  close(): void {
    if (this.closed) return;
    const rest = this.out.end();
    if (rest) this.add('o', rest, Buffer.byteLength(rest));
    this.flush();
    this.closed = true;
  }

  private add(kind: 'o' | 'i' | 'r', text: string, bytes: number): void {
    if (this.closed || this.truncated || text === '') return;
    if (this.recorded + bytes > this.options.maxBytes) {
      this.truncated = true;
      // Say so once, in a batch of its own if nothing else is pending.
      if (this.batch.length === 0) this.options.emit({ stream: [], truncated: true });
      else this.flush();
      return;
    }
    this.recorded += bytes;
    this.batch.push([this.options.clock(), kind, text]);
    this.batchSize += bytes;
    if (this.batchSize >= this.options.batchBytes) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.flushMs);
  }
}

function maskStream(stream: AsciicastEvent[], detectors: readonly Detector[]): AsciicastEvent[] {
  const merged: AsciicastEvent[] = [];
  for (const e of stream) {
    const last = merged[merged.length - 1];
    if (last && last[1] === e[1] && e[1] !== 'r') last[2] += e[2];
    else merged.push([e[0], e[1], e[2]]);
  }
  return merged.map(([t, k, d]) => [t, k, k === 'r' ? d : maskText(d, detectors)]);
}
