/**
 * Recognises `COPY … TO STDOUT` (docs: SQL command COPY) well enough to mask
 * its rows: what query produces them (to describe its columns on the
 * catalog connection) and in which format. Anything this cannot read is
 * masked whole or refused — never passed through unmasked.
 */
export interface CopyToStdout {
  /** A SELECT with the same output columns, or undefined when it cannot be derived. */
  select: string | undefined;
  /** text with the default tab delimiter is maskable; the others are refused under a mask verdict. */
  format: 'text' | 'csv' | 'binary' | 'custom-text';
}

function stripLeadingComments(sql: string): string {
  let s = sql.trimStart();
  for (;;) {
    if (s.startsWith('--')) s = s.slice(s.indexOf('\n') + 1 || s.length).trimStart();
    else if (s.startsWith('/*')) s = s.slice((s.indexOf('*/') + 2) || s.length).trimStart();
    else return s;
  }
}

/** Index just past the parenthesis that closes the one at `start` (quotes and dollar quotes aside), or -1. */
function closingParen(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    const ch = s[i];
    if (ch === "'" || ch === '"') {
      const end = s.indexOf(ch, i + 1);
      if (end < 0) return -1;
      i = end;
    } else if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

export function analyseCopyToStdout(sql: string): CopyToStdout | undefined {
  const s = stripLeadingComments(sql).replace(/;\s*$/, '');
  const head = /^copy\s+/i.exec(s);
  if (!head) return undefined;
  let rest = s.slice(head[0].length);
  let select: string | undefined;
  if (rest.startsWith('(')) {
    const end = closingParen(rest, 0);
    if (end < 0) return { select: undefined, format: 'text' };
    select = rest.slice(1, end - 1);
    rest = rest.slice(end);
  } else {
    const rel = /^((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?)\s*/.exec(rest);
    if (!rel) return undefined;
    rest = rest.slice(rel[0].length);
    let columns = '*';
    if (rest.startsWith('(')) {
      const end = closingParen(rest, 0);
      if (end < 0) return { select: undefined, format: 'text' };
      columns = rest.slice(1, end - 1);
      rest = rest.slice(end);
    }
    select = `SELECT ${columns} FROM ${rel[1]}`;
  }
  const to = /^\s*to\s+stdout\b/i.exec(rest);
  if (!to) return undefined; // COPY … FROM or TO a file: nothing flows back to mask
  const options = rest.slice(to[0].length);
  const format = /\bbinary\b/i.test(options)
    ? 'binary'
    : /\bcsv\b/i.test(options)
      ? 'csv'
      : /\b(delimiter|null|encoding)\b/i.test(options)
        ? 'custom-text'
        : 'text';
  return { select, format };
}
