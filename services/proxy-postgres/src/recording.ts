import type { ResultColumn } from './catalog.ts';

/** Text values are in the session's client encoding; UTF-8 unless told. */
type Decode = (bytes: Buffer) => string;
const utf8: Decode = (bytes) => bytes.toString('utf8');

/** Renders a value as the record shows it: text as-is; binary as `\x` + base64 (SqlCommand's convention for parameters). */
export function renderValue(value: Buffer | null, format: 0 | 1, decode: Decode = utf8): string | null {
  if (value === null) return null;
  return format === 1 ? `\\x${value.toString('base64')}` : decode(value);
}

/** Bound parameters in text form per the Bind message's format codes (docs "Message Formats", Bind). */
export function renderParameters(values: readonly (Buffer | null)[], formats: readonly number[], decode: Decode = utf8): (string | null)[] {
  return values.map((v, i) => renderValue(v, (formats.length === 1 ? formats[0] : formats[i]) === 1 ? 1 : 0, decode));
}

/** Command tags that carry a row count as their last word (docs "Message Formats", CommandComplete). */
export function rowsFromTag(tag: string): number | undefined {
  const words = tag.split(' ');
  if (!['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'COPY', 'FETCH', 'MOVE'].includes(words[0] ?? '')) return undefined;
  const n = Number(words[words.length - 1]);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

/**
 * The (already masked) result rows of one statement kept for OutputRecorded,
 * up to maxRows rows or maxBytes bytes; past that it only counts. 0 = off.
 */
export class OutputCapture {
  rows: (string | null)[][] = [];
  columns: string[] = [];
  truncated = false;
  private bytes = 0;
  private total = 0;

  constructor(
    private readonly limits: { maxRows: number; maxBytes: number },
    private readonly decode: Decode = utf8,
  ) {}

  get enabled(): boolean {
    return this.limits.maxRows > 0 && this.limits.maxBytes > 0;
  }

  /** True while another row would still be kept. */
  get wantsRows(): boolean {
    return this.enabled && !this.truncated;
  }

  setColumns(columns: ResultColumn[] | undefined): void {
    if (columns) this.columns = columns.map((c) => c.name);
  }

  add(values: readonly (Buffer | null)[], columns: ResultColumn[] | undefined): void {
    if (!this.wantsRows) return;
    let size = 0;
    for (const v of values) size += v ? v.length : 0;
    if (this.total >= this.limits.maxRows || this.bytes + size > this.limits.maxBytes) {
      this.truncated = true;
      return;
    }
    this.rows.push(values.map((v, i) => renderValue(v, columns?.[i]?.format ?? 0, this.decode)));
    this.bytes += size;
    this.total++;
  }

  addStrings(values: (string | null)[]): void {
    if (!this.wantsRows) return;
    const size = values.reduce((n, v) => n + (v ? Buffer.byteLength(v) : 0), 0);
    if (this.total >= this.limits.maxRows || this.bytes + size > this.limits.maxBytes) {
      this.truncated = true;
      return;
    }
    this.rows.push(values);
    this.bytes += size;
    this.total++;
  }

  /** Takes the rows kept since the last take (counters stay: the cap is per statement). */
  take(): { columns: string[]; rows: (string | null)[][]; truncated: boolean } {
    const out = { columns: this.columns, rows: this.rows, truncated: this.truncated };
    this.rows = [];
    return out;
  }
}
