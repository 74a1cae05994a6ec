/**
 * Tool results: what the caller's model reads. Text is capped at the
 * configured size with an explicit marker saying how much was left out, so
 * a model never mistakes a cut result for a whole one.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

export interface Capped {
  text: string;
  truncated: boolean;
}

/** The first `maxBytes` bytes of `text` (on a character boundary) and, when cut, the marker. */
export function capText(text: string, maxBytes: number): Capped {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= maxBytes) return { text, truncated: false };
  let cut = Buffer.from(text, 'utf8').subarray(0, maxBytes).toString('utf8');
  // A multi-byte character cut in half decodes as U+FFFD: drop it.
  if (cut.endsWith('\uFFFD')) cut = cut.slice(0, -1);
  return { text: `${cut}\n[truncated by Portcullis: ${Buffer.byteLength(cut, 'utf8')} of ${bytes} bytes shown]`, truncated: true };
}

export function textResult(text: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
}

/** A refused or failed call: isError, the stable code first so agents can branch on it. */
export function errorResult(code: string, message: string, structured?: Record<string, unknown>): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${code}: ${message}` }], structuredContent: { error: { code, message }, ...structured } };
}
