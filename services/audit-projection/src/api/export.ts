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

const PAGE = 2000;
/** The first page is small so the export starts answering at once. */
const FIRST_PAGE = 100;

export function exportCommands(pool: Pool, schema: string, filter: CommandFilter, format: 'ndjson' | 'csv'): Readable {
  async function* rows(): AsyncGenerator<string> {
    const client = await pool.connect();
    let ok = false;
    try {
      await client.query('BEGIN READ ONLY');
      // Plan for the first rows (the ordered index scan), not for reading the whole table at once (sort).
      await client.query('SET LOCAL cursor_tuple_fraction = 0.001');
      const q = commandsQuery(schema, filter, undefined, undefined);
      await client.query(`DECLARE export_cursor NO SCROLL CURSOR FOR ${q.text}`, q.values);
      if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
      for (let size = FIRST_PAGE; ; size = PAGE) {
        const { rows: page } = await client.query(`FETCH ${size} FROM export_cursor`);
        if (page.length === 0) break;
        let chunk = '';
        for (const r of page) {
          if (format === 'ndjson') chunk += `${JSON.stringify(CommandItem.parse(toCommandItem(r)))}\n`;
          else chunk += `${CSV_COLUMNS.map((c) => csvField(r[c])).join(',')}\r\n`;
        }
        yield chunk;
      }
      await client.query('COMMIT');
      ok = true;
    } finally {
      if (!ok) await client.query('ROLLBACK').catch(() => undefined);
      client.release();
    }
  }
  return Readable.from(rows(), { objectMode: false, highWaterMark: 1 });
}
