// Rewrites the string and number leaves of a JSON text (RFC 8259) in place:
// everything else — structure, whitespace, key order, number spelling — is
// copied byte for byte, so the result is valid JSON whenever the input was.
// A single forward pass; returns null when the input is not JSON.

export interface JsonLeafRewriter {
  /** New string for a string leaf; `isKey` for object member names. */
  string(value: string, isKey: boolean): string;
  /** New JSON text for a number leaf (another number, or a JSON string). */
  number(raw: string): string;
}

export function rewriteJsonLeaves(text: string, rewrite: JsonLeafRewriter): string | null {
  const out: string[] = [];
  let i = 0;
  let copied = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      const end = stringEnd(text, i);
      if (end === -1) return null;
      let decoded: string;
      try {
        decoded = JSON.parse(text.slice(i, end)) as string;
      } catch {
        return null;
      }
      let k = end;
      while (k < text.length && isJsonSpace(text[k]!)) k++;
      const replaced = rewrite.string(decoded, text[k] === ':');
      if (replaced !== decoded) {
        out.push(text.slice(copied, i), JSON.stringify(replaced));
        copied = end;
      }
      i = end;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      let end = i + 1;
      while (end < text.length && /[0-9.eE+-]/u.test(text[end]!)) end++;
      const raw = text.slice(i, end);
      if (!Number.isFinite(Number(raw))) return null;
      const replaced = rewrite.number(raw);
      if (replaced !== raw) {
        out.push(text.slice(copied, i), replaced);
        copied = end;
      }
      i = end;
    } else if (c === 't' || c === 'f' || c === 'n') {
      const word = c === 't' ? 'true' : c === 'f' ? 'false' : 'null';
      if (!text.startsWith(word, i)) return null;
      i += word.length;
    } else if ('{}[],:'.includes(c) || isJsonSpace(c)) {
      i++;
    } else {
      return null;
    }
  }
  out.push(text.slice(copied));
  return out.join('');
}

/** Index just past the closing quote of the string starting at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j];
    if (c === '\\') j += 2;
    else if (c === '"') return j + 1;
    else j++;
  }
  return -1;
}

const isJsonSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
