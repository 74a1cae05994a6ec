/**
 * Export of any command filter as NDJSON or CSV, streamed from a PostgreSQL
 * server-side cursor: rows are fetched a page at a time and written as the
 * client reads them (Readable.from pulls only when the socket drains), so a
 * million-row export holds one page in memory.
 */
import { Readable } from 'node:stream';
import type { Pool } from '@portcullis/kit';
import { commandsQuery, type CommandFilter } from './queries.ts';
import { CommandItem } from './schemas.ts';
import { CSV_COLUMNS, csvField, toCommandItem } from './mappers.ts';

/** The first page is small (and a plain keyset query) so the export starts answering at once. */
const FIRST_PAGE = 100;
/**
 * Later pages grow from SECOND_PAGE to PAGE: a client that stops reading
 * early (a look at the first lines, a `head`) costs at most a small page more,
 * while a full export soon fetches and renders big pages.
 */
const SECOND_PAGE = 250;
const PAGE = 2000;
/** Rendered and written in slices: the event loop serves other requests between them, and a closed export stops at the next. */
const SLICE = 250;

export function exportCommands(pool: Pool, schema: string, filter: CommandFilter, format: 'ndjson' | 'csv'): Readable {
  const render = (page: Record<string, unknown>[]): string => {
    let chunk = '';
    for (const r of page) {
      if (format === 'ndjson') chunk += `${JSON.stringify(CommandItem.parse(toCommandItem(r)))}\n`;
      else chunk += `${CSV_COLUMNS.map((c) => csvField(r[c])).join(',')}\r\n`;
    }
    return chunk;
  };
  async function* rows(): AsyncGenerator<string> {
    const client = await pool.connect();
    let ok = false;
    try {
      // One snapshot for the whole export: the first page by the list's own keyset query (an index range scan
      // that answers in milliseconds), the rest through a cursor that continues after its last row.
      // One round trip for both (a simple-protocol query may hold several statements).
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL cursor_tuple_fraction = 0.001');
      if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
      const first = commandsQuery(schema, filter, undefined, FIRST_PAGE);
      const { rows: page0 } = await client.query(first.text, first.values);
      if (page0.length > 0) yield render(page0);
      const last = page0[page0.length - 1];
      if (page0.length === FIRST_PAGE && last && !stream.destroyed) {
        const rest = commandsQuery(schema, filter, { at: last.at_key, id: last.command_id }, undefined);
        await client.query(`DECLARE export_cursor NO SCROLL CURSOR FOR ${rest.text}`, rest.values);
        for (let size = SECOND_PAGE; !stream.destroyed; size = Math.min(PAGE, size * 2)) {
          const { rows: page } = await client.query(`FETCH ${size} FROM export_cursor`);
          if (page.length === 0) break;
          for (let i = 0; i < page.length && !stream.destroyed; i += SLICE) yield render(page.slice(i, i + SLICE));
        }
      }
      if (!stream.destroyed) {
        await client.query('COMMIT');
        ok = true;
      }
    } finally {
      if (!ok) await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }
  const stream = Readable.from(rows(), { objectMode: false, highWaterMark: 1 });
  return stream;
}
