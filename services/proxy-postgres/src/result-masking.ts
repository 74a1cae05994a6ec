import type { Detector, MaskSpec } from '@portcullis/schemas';
import type { Logger } from 'pino';
import type { ResultColumn, TargetCatalog } from './catalog.ts';
import { isAscii, type TextCodec } from './client-encoding.ts';
import type { ColumnMask } from './masking/index.ts';
import { typeClass } from './masking/type-oids.ts';
import type { NoticeFields } from './wire/backend-messages.ts';

/** The masking library's functions this engine calls (src/masking). */
export type MaskingLibrary = Pick<typeof import('./masking/index.ts'), 'maskFieldValue' | 'maskFreeText' | 'maskCopyTextLine'>;

/**
 * Loads the masking library before the first masked statement runs; a
 * session whose masking cannot load refuses masked statements (fail closed)
 * instead of failing to start at all.
 */
export const loadMaskingLibrary = async (): Promise<MaskingLibrary> => import('./masking/index.ts');

/** How each column of one result set is masked; undefined = passes untouched. */
export interface ResultPlan {
  columns: ResultColumn[];
  masks: (ColumnMask | undefined)[];
  detectors: Detector[];
  /** False when nothing in this result needs rewriting (rows are forwarded as they came). */
  active: boolean;
  lib: MaskingLibrary;
}

const PLAIN_TABLE_KINDS = new Set(['r', 'p']);

/** The strategy for a column that derives from protected data: the policy's, when the statement references one kind; else redact. */
function derivedMask(spec: MaskSpec): ColumnMask {
  const strategies = new Set((spec.referenced.length > 0 ? spec.referenced : spec.columns).map((c) => c.strategy));
  const only = strategies.size === 1 ? [...strategies][0] : undefined;
  return { strategy: only ?? 'redact' };
}

/**
 * Decides per RowDescription column (docs "Message Formats", RowDescription:
 * table OID + column attribute number, both zero for anything but a plain
 * column reference). A column is protected by where it comes from, so an
 * alias does not hide it; with `derived`, every column that is not a plain
 * reference to a column of an ordinary table counts as derived and is masked
 * (fail closed). Catalog trouble masks everything.
 */
export async function planResult(columns: ResultColumn[], spec: MaskSpec, catalog: TargetCatalog, logger: Logger, lib: MaskingLibrary): Promise<ResultPlan> {
  const detectors = spec.detectors;
  const fallback = derivedMask(spec);
  let protectedColumns: Map<string, ColumnMask['strategy']>;
  let kinds: Map<number, string>;
  try {
    protectedColumns = await catalog.protectedColumns([...spec.columns, ...spec.referenced]);
    const oids = columns.map((c) => c.tableOid).filter((oid) => oid !== 0);
    kinds = spec.derived && oids.length > 0 ? await catalog.relkinds(oids) : new Map();
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'catalog unavailable: masking every column');
    return { columns, masks: columns.map(() => fallback), detectors, active: columns.length > 0, lib };
  }
  const masks = columns.map((c): ColumnMask | undefined => {
    const strategy = c.tableOid !== 0 ? protectedColumns.get(`${c.tableOid}:${c.columnNumber}`) : undefined;
    if (strategy) return { strategy };
    const plainTableColumn = c.tableOid !== 0 && c.columnNumber > 0 && (!spec.derived || PLAIN_TABLE_KINDS.has(kinds.get(c.tableOid) ?? ''));
    if (spec.derived && !plainTableColumn) return fallback;
    return detectors.length > 0 ? { strategy: 'detect' } : undefined;
  });
  return { columns, masks, detectors, active: masks.some((m) => m !== undefined), lib };
}

/** Every column masked with the derived strategy: what COPY gets when its columns cannot be described. */
export function planEverything(columns: ResultColumn[], spec: MaskSpec, lib: MaskingLibrary): ResultPlan {
  const mask = derivedMask(spec);
  return { columns, masks: columns.map(() => mask), detectors: spec.detectors, active: true, lib };
}

/** Binary-format values that are text in the client encoding (textsend, json_send, jsonb_send, xml_send). */
const TEXT_IN_BINARY = new Set(['text', 'bpchar', 'json', 'jsonb', 'xml']);

/**
 * The masking library reads and writes UTF-8. Under another client encoding
 * a value that carries text is converted to UTF-8 for it and back; a value
 * that will not convert is masked whole (NULL), never passed unread.
 */
function inUtf8(value: Buffer, codec: TextCodec, mask: (utf8: Buffer) => Buffer | null): Buffer | null {
  if (isAscii(value)) return mask(value);
  try {
    const utf8 = Buffer.from(codec.decode(value), 'utf8');
    const masked = mask(utf8);
    if (masked === null) return null;
    return masked === utf8 || masked.equals(utf8) ? value : codec.encode(masked.toString('utf8'));
  } catch {
    return null;
  }
}

/** Rewrites one DataRow's values; a row with more fields than described is masked whole (fail closed). */
export function maskRowValues(values: (Buffer | null)[], plan: ResultPlan, codec?: TextCodec): (Buffer | null)[] {
  const out = new Array<Buffer | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const column = plan.columns[i];
    const mask = column ? plan.masks[i] : ({ strategy: 'redact' } as ColumnMask);
    const value = values[i] ?? null;
    if (!mask || value === null) {
      out[i] = mask ? plan.lib.maskFieldValue(value, column?.typeOid ?? 0, column?.format ?? 0, mask, plan.detectors) : value;
      continue;
    }
    const typeOid = column?.typeOid ?? 0;
    const format = column?.format ?? 0;
    const maskValue = (v: Buffer): Buffer | null => plan.lib.maskFieldValue(v, typeOid, format, mask, plan.detectors);
    const carriesText = format === 0 || TEXT_IN_BINARY.has(typeClass(typeOid));
    out[i] = codec && !codec.isUtf8 && carriesText ? inUtf8(value, codec, maskValue) : maskValue(value);
  }
  return out;
}

/** One COPY TO STDOUT text-format row (COPY's delimiters and escapes are ASCII, so the whole line converts). */
export function maskCopyLine(line: Buffer, plan: ResultPlan, codec?: TextCodec): Buffer {
  const mask = (utf8: Buffer): Buffer =>
    plan.lib.maskCopyTextLine(
      utf8,
      plan.masks,
      plan.columns.map((c) => c.typeOid),
      plan.detectors,
    );
  if (!codec || codec.isUtf8) return mask(line);
  // A line that does not convert is replaced by NULLs for every column: masked whole.
  return inUtf8(line, codec, mask) ?? Buffer.from(`${Array.from({ length: Math.max(1, plan.columns.length) }, () => '\\N').join('\t')}\n`, 'latin1');
}

/** The fields of a NoticeResponse/ErrorResponse that carry text a statement's data can end up in. */
const FREE_TEXT_FIELDS = ['M', 'D', 'H', 'W', 'q', 'c'] as const;

/** The human-readable fields of a NoticeResponse/ErrorResponse, through the content detectors. */
export function maskNotice(fields: NoticeFields, detectors: Detector[], lib: MaskingLibrary): NoticeFields {
  const out: NoticeFields = { ...fields };
  for (const code of FREE_TEXT_FIELDS) {
    const value = out[code];
    if (value !== undefined) out[code] = lib.maskFreeText(value, detectors);
  }
  return out;
}

/**
 * What every target error and notice goes through, whatever the verdict: a
 * credential or card number quoted in a message (a connection string in a
 * dblink error, a key value in a unique violation) never reaches the caller.
 * A mask verdict adds its own detectors (emails, IBANs, …).
 */
export const ALWAYS_SCRUBBED: readonly Detector[] = ['secret', 'card'];

/**
 * A target ErrorResponse/NoticeResponse as the caller may see it: severity,
 * SQLSTATE, position and the names of schema objects pass; the message,
 * detail, hint, context and internal query go through the detectors. Without
 * the masking library those texts are withheld (fail closed), the SQLSTATE
 * still tells the caller what kind of error it was.
 */
export function scrubTargetMessage(fields: NoticeFields, detectors: Iterable<Detector>, lib: MaskingLibrary | undefined): NoticeFields {
  if (lib) return maskNotice(fields, [...detectors], lib);
  const out: NoticeFields = { ...fields };
  for (const code of FREE_TEXT_FIELDS) {
    if (out[code] !== undefined) out[code] = code === 'M' ? `(message withheld: Portcullis could not scrub it; SQLSTATE ${fields.C})` : '';
  }
  return out;
}

/** True when scrubbing changed nothing, so the original bytes can go out as they came. */
export function sameMessage(a: NoticeFields, b: NoticeFields): boolean {
  return FREE_TEXT_FIELDS.every((code) => a[code] === b[code]);
}
