import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so the same definition always has the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * What a caller's model trusts about a tool: its name, title, description,
 * input and output schema and annotations. Any change to them changes the
 * digest (the tool-poisoning defence compares digests within a session).
 */
export function toolDigest(tool: { name: string; title?: unknown; description?: unknown; inputSchema?: unknown; outputSchema?: unknown; annotations?: unknown }): string {
  const definition = { name: tool.name, title: tool.title, description: tool.description, inputSchema: tool.inputSchema, outputSchema: tool.outputSchema, annotations: tool.annotations };
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}
