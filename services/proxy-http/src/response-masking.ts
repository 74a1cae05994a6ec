import { Transform, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { maskText } from '@portcullis/kit';
import { maskJsonInPlace, type JsonMaskPlan } from './json-masking.ts';
import { HttpProxyError } from './errors.ts';

/**
 * How a masked response body is rewritten, chosen from its media type:
 * - json: buffered up to the cap, parsed, masked, re-serialised.
 * - lines: newline-delimited JSON (Kubernetes watch, NDJSON) and server-sent
 *   events, masked line by line as they stream; a line longer than the cap
 *   aborts the response.
 * - text: other text/* buffered up to the cap, detectors applied.
 * - refuse: anything else (binary, protobuf, compressed): the proxy cannot
 *   mask it, so it refuses (fail closed).
 */
export type MaskMode = 'json' | 'lines' | 'text' | 'refuse';

export function maskModeFor(contentType: string | undefined, contentEncoding: string | undefined): MaskMode {
  if (contentEncoding && contentEncoding.toLowerCase() !== 'identity') return 'refuse';
  const ct = (contentType ?? '').toLowerCase();
  if (ct.includes('stream=watch') || ct.startsWith('application/x-ndjson') || ct.startsWith('application/jsonl') || ct.startsWith('text/event-stream')) return 'lines';
  const media = ct.split(';')[0]!.trim();
  if (media === 'application/json' || media.endsWith('+json')) return 'json';
  if (media.startsWith('text/') || media === '') return 'text';
  return 'refuse';
}

export function maskJsonText(text: string, plan: JsonMaskPlan): string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new HttpProxyError('PCL_ERR_MASK_LIMIT', 'the upstream sent a JSON response that is not valid JSON; it cannot be masked, so it is not passed on');
  }
  return JSON.stringify(maskJsonInPlace(doc, plan));
}

/** One line of a watch / NDJSON / SSE stream. */
export function maskLine(line: string, plan: JsonMaskPlan): string {
  const prefixLength = sseDataPrefixLength(line);
  const prefix = line.slice(0, prefixLength);
  const payload = line.slice(prefixLength);
  const trimmed = payload.trim();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return prefix + JSON.stringify(maskJsonInPlace(JSON.parse(trimmed), plan));
    } catch {
      /* not JSON after all: treat as text */
    }
  }
  return prefix + (plan.detectors.length > 0 ? maskText(payload, plan.detectors) : payload);
}

/** An SSE data field's `data:` and one following whitespace character (trim's set), or 0. */
function sseDataPrefixLength(line: string): number {
  if (!line.startsWith('data:')) return 0;
  return line.length > 5 && line.charAt(5).trim() === '' ? 6 : 5;
}

/** Masks a line-oriented stream as it flows; never holds more than one line (≤ maxLineBytes). */
export class LineMasker extends Transform {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly plan: JsonMaskPlan, private readonly maxLineBytes: number) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending += this.decoder.write(chunk);
    const lines = this.pending.split('\n');
    this.pending = lines.pop()!;
    if (this.pending.length > this.maxLineBytes) {
      done(new HttpProxyError('PCL_ERR_MASK_LIMIT', `a streamed line exceeds ${this.maxLineBytes} bytes; the rest of the masked stream is cut off`));
      return;
    }
    if (lines.length > 0) this.push(lines.map((l) => maskLine(l, this.plan)).join('\n') + '\n');
    done();
  }
  override _flush(done: TransformCallback): void {
    this.pending += this.decoder.end();
    if (this.pending !== '') this.push(maskLine(this.pending, this.plan));
    done();
  }
}
