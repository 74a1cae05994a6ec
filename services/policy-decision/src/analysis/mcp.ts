/**
 * MCP tool-call analysis: the tool's name, every argument value under the
 * dotted path of the argument that holds it, and the call's classes. The
 * arguments are parsed with JSON.parse (the caller's JSON text); anything
 * that is not a JSON object is unparseable and blocked.
 */
import { posix } from 'node:path';
import type { McpToolCall } from '@portcullis/schemas';
import type { McpAnalysis, McpArgumentValue, Unparseable } from './types.ts';

/** Arguments nested deeper than this, or with more values, are refused rather than judged in part. */
const MAX_DEPTH = 16;
const MAX_VALUES = 4096;

/**
 * The spellings a value is judged by: the value itself and, when it may name
 * a path (has a `/` or `\`), the path it resolves to (`/data/../etc/x` is
 * also `/etc/x`), so a `..` cannot carry a value past a pattern. A tool that
 * takes a URL may decode it: a value with `%` escapes is also judged decoded
 * once, and a `file:` URL also as its path.
 */
export function spellingsOf(value: string): string[] {
  const forms = new Set([value]);
  if (value.includes('%')) {
    try {
      forms.add(decodeURIComponent(value));
    } catch {
      /* malformed escapes: the value as it is */
    }
  }
  for (const form of [...forms]) {
    const file = /^file:\/\/[^/]*(\/.*)$/i.exec(form);
    if (file) forms.add(file[1]!);
  }
  for (const form of [...forms]) {
    if (!form.includes('/') && !form.includes('\\')) continue;
    const slashed = form.replaceAll('\\', '/');
    const normalized = posix.normalize(slashed);
    forms.add(slashed);
    forms.add(normalized.length > 1 ? normalized.replace(/\/$/, '') : normalized);
  }
  return [...forms];
}

export function analyzeMcpToolCall(call: McpToolCall): McpAnalysis | Unparseable {
  let args: unknown;
  try {
    args = JSON.parse(call.arguments);
  } catch (err) {
    return { ok: false, error: `unparseable: the tool arguments are not JSON (${(err as Error).message})` };
  }
  if (args === null || typeof args !== 'object' || Array.isArray(args)) return { ok: false, error: 'unparseable: the tool arguments are not a JSON object' };
  const values: McpArgumentValue[] = [];
  const walk = (value: unknown, path: string, depth: number): string | undefined => {
    if (depth > MAX_DEPTH) return `arguments nested deeper than ${MAX_DEPTH} levels`;
    if (values.length > MAX_VALUES) return `more than ${MAX_VALUES} argument values`;
    if (Array.isArray(value)) {
      // Items of a list are judged under the list's own path.
      for (const item of value) {
        const problem = walk(item, path, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        const problem = walk(inner, path === '' ? key : `${path}.${key}`, depth + 1);
        if (problem) return problem;
      }
      return undefined;
    }
    const text = value === null ? 'null' : String(value);
    values.push({ path, value: text, spellings: spellingsOf(text) });
    return undefined;
  };
  const problem = walk(args, '', 0);
  if (problem) return { ok: false, error: `unparseable: ${problem}` };
  return { ok: true, kind: 'mcp', tool: call.tool, arguments: values, classes: call.toolChanged ? ['tool-changed'] : [] };
}
