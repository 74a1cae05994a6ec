// PostgreSQL array literals in text format (docs: "8.15.6 Array Input and
// Output Syntax"): optional dimension decoration "[1:2]=", then nested braces
// with elements separated by ','. Elements are NULL, "double quoted" with
// backslash escapes, or bare. Only elements are rewritten; the rest is copied.

/** New element text, or null for SQL NULL. */
export type ArrayElementRewriter = (element: string) => string | null;

export function rewriteArrayText(text: string, rewrite: ArrayElementRewriter): string | null {
  let i = 0;
  let out = '';
  if (text[0] === '[') {
    const eq = text.indexOf('=');
    if (eq === -1) return null;
    out = text.slice(0, eq + 1);
    i = eq + 1;
  }
  if (text[i] !== '{') return null;
  let depth = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '{') {
      depth++;
      out += c;
      i++;
    } else if (c === '}') {
      depth--;
      out += c;
      i++;
      if (depth === 0) return i === text.length ? out : null;
    } else if (c === ',' || c === ' ') {
      out += c;
      i++;
    } else if (depth === 0) {
      return null;
    } else {
      const element = readElement(text, i);
      if (element === null) return null;
      i = element.end;
      if (element.value === null) {
        out += 'NULL';
        continue;
      }
      const replaced = rewrite(element.value);
      out += replaced === null ? 'NULL' : replaced === element.value ? text.slice(element.start, element.end) : quoteElement(replaced);
    }
  }
  return null;
}

function readElement(text: string, i: number): { start: number; end: number; value: string | null } | null {
  const start = i;
  if (text[i] === '"') {
    let value = '';
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') i++;
      if (i >= text.length) return null;
      value += text[i];
      i++;
    }
    if (text[i] !== '"') return null;
    return { start, end: i + 1, value };
  }
  let value = '';
  while (i < text.length && text[i] !== ',' && text[i] !== '}') {
    if (text[i] === '\\') i++;
    if (i >= text.length) return null;
    value += text[i];
    i++;
  }
  const end = i;
  value = value.trim();
  return { start, end, value: value.toUpperCase() === 'NULL' && !text.slice(start, end).includes('\\') ? null : value };
}

/** Quotes an element the way array_out does when it needs quoting. */
export function quoteElement(value: string): string {
  const needsQuotes = value === '' || value.toUpperCase() === 'NULL' || /[{}",\\\s]/u.test(value);
  if (!needsQuotes) return value;
  return `"${value.replace(/[\\"]/gu, (m) => `\\${m}`)}"`;
}
