/**
 * Quote removal for mvdan/sh words: turns a syntax-tree Word into the literal
 * string the shell would pass, or says it is not literal (needs expansion at
 * run time). Rules follow the Bash manual, "3.1.2 Quoting" and
 * "3.5 Shell Expansions".
 */
import type { SyntaxNode } from './shell-syntax-tree.ts';

export interface ResolvedWord {
  /** True when the word is fully known after quote removal (no expansion, glob or brace). */
  literal: boolean;
  /** The literal value when `literal`, else the word's source text. */
  text: string;
}

/** One character after quote removal, and whether quoting protected it. */
interface Char {
  ch: string;
  quoted: boolean;
}

export function resolveWord(word: SyntaxNode, sourceText: string): ResolvedWord {
  const chars: Char[] = [];
  let literal = true;
  for (const part of partsOf(word)) {
    switch (part.Type) {
      case 'Lit':
        unquotedLit(str(part.Value), chars);
        break;
      case 'SglQuoted': {
        const value = str(part.Value);
        for (const ch of part.Dollar === true ? decodeAnsiC(value) : value) chars.push({ ch, quoted: true });
        break;
      }
      case 'DblQuoted':
        // `$"…"` (locale translation) is treated as plain double quotes.
        for (const inner of partsOf(part)) {
          if (inner.Type === 'Lit') for (const ch of unescapeDoubleQuoted(str(inner.Value))) chars.push({ ch, quoted: true });
          else literal = false;
        }
        break;
      default:
        // ParamExp, CmdSubst, ArithmExp, ProcSubst, ExtGlob, BraceExp: run-time values.
        literal = false;
    }
  }
  if (literal && (hasUnquotedGlob(chars) || hasBraceExpansion(chars))) literal = false;
  return literal ? { literal, text: chars.map((c) => c.ch).join('') } : { literal, text: sourceText };
}

export function partsOf(node: SyntaxNode): SyntaxNode[] {
  return Array.isArray(node.Parts) ? (node.Parts as SyntaxNode[]) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Unquoted text: `\x` quotes x, backslash-newline is a line continuation (Bash 3.1.2.1). */
function unquotedLit(value: string, out: Char[]): void {
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\' && i + 1 < value.length) {
      const next = value[++i]!;
      if (next !== '\n') out.push({ ch: next, quoted: true });
      continue;
    }
    out.push({ ch, quoted: false });
  }
}

/** Inside double quotes a backslash only escapes $ ` " \ and newline (Bash 3.1.2.3). */
export function unescapeDoubleQuoted(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const next = value[i + 1];
    if (ch === '\\' && next !== undefined && '$`"\\\n'.includes(next)) {
      if (next !== '\n') out += next;
      i++;
      continue;
    }
    out += ch;
  }
  return out;
}

/** An unquoted here-document body: backslash escapes only $ ` \ and newline (Bash 3.6.6). */
export function unescapeHeredoc(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const next = value[i + 1];
    if (ch === '\\' && next !== undefined && '$`\\\n'.includes(next)) {
      if (next !== '\n') out += next;
      i++;
      continue;
    }
    out += ch;
  }
  return out;
}

function hasUnquotedGlob(chars: Char[]): boolean {
  return chars.some((c) => !c.quoted && (c.ch === '*' || c.ch === '?' || c.ch === '['));
}

/** `a{b,c}` or `{1..3}` unquoted: Bash brace expansion (3.5.1) makes several words at run time. */
function hasBraceExpansion(chars: Char[]): boolean {
  for (let i = 0; i < chars.length; i++) {
    if (chars[i]!.quoted || chars[i]!.ch !== '{') continue;
    for (let j = i + 1; j < chars.length; j++) {
      const c = chars[j]!;
      if (c.quoted) continue;
      if (c.ch === '}') break;
      if (c.ch === ',' || (c.ch === '.' && chars[j + 1]?.ch === '.' && chars[j + 1]?.quoted === false)) return true;
    }
  }
  return false;
}

/** Decodes `$'…'` ANSI-C quoting (Bash manual 3.1.2.4). */
export function decodeAnsiC(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch !== '\\' || i + 1 >= value.length) {
      out += ch;
      continue;
    }
    const e = value[++i]!;
    switch (e) {
      case 'a': out += '\x07'; break;
      case 'b': out += '\b'; break;
      case 'e': case 'E': out += '\x1b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': case "'": case '"': case '?': out += e; break;
      case 'x': case 'u': case 'U': {
        const max = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const [code, used] = readDigits(value, i + 1, max, 16);
        if (used === 0) { out += '\\' + e; break; }
        out += String.fromCodePoint(Math.min(code, 0x10ffff));
        i += used;
        break;
      }
      case 'c': {
        // \cx: control-x
        const x = value[i + 1];
        if (x === undefined) { out += '\\c'; break; }
        out += String.fromCharCode(x.toUpperCase().charCodeAt(0) & 0x1f);
        i++;
        break;
      }
      default: {
        if (e >= '0' && e <= '7') {
          const [code, used] = readDigits(value, i, 3, 8);
          out += String.fromCharCode(code & 0xff);
          i += used - 1;
        } else {
          out += '\\' + e; // unknown escapes are left as written
        }
      }
    }
  }
  return out;
}

function readDigits(s: string, from: number, max: number, radix: number): [number, number] {
  let code = 0;
  let used = 0;
  while (used < max && from + used < s.length) {
    const d = parseInt(s[from + used]!, radix);
    if (Number.isNaN(d)) break;
    code = code * radix + d;
    used++;
  }
  return [code, used];
}
