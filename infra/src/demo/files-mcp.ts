/**
 * The demo's upstream MCP server: a directory of text files behind tools
 * list_files, read_file and delete_file, over stdio. The MCP gateway starts
 * it (resource "demo-files" in the demo portcullis.yaml); agents reach it
 * through Portcullis at /mcp/r/demo-files. Paths are relative to the
 * directory given as the first argument; anything outside it is refused.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

const root = resolve(process.argv[2] ?? '.');

function inside(path: string): string | undefined {
  const full = resolve(root, path.replace(/^\/+/, ''));
  const rel = relative(root, full);
  return rel.startsWith('..') || rel === '' ? undefined : full;
}

const server = new McpServer({ name: 'demo-files', version: '1.0.0' });
server.registerTool('list_files', { description: 'Lists the files.' }, async () => ({ content: [{ type: 'text', text: readdirSync(root).join('\n') }] }));
server.registerTool('read_file', { description: 'Reads a text file.', inputSchema: { path: z.string() } }, async ({ path }) => {
  const full = inside(path);
  if (!full) return { isError: true, content: [{ type: 'text', text: `not a file here: ${path}` }] };
  try {
    return { content: [{ type: 'text', text: readFileSync(full, 'utf8') }] };
  } catch {
    return { isError: true, content: [{ type: 'text', text: `no such file: ${path}` }] };
  }
});
server.registerTool('delete_file', { description: 'Deletes a file.', inputSchema: { path: z.string() } }, async ({ path }) => {
  const full = inside(path);
  if (!full) return { isError: true, content: [{ type: 'text', text: `not a file here: ${path}` }] };
  rmSync(full, { force: true });
  return { content: [{ type: 'text', text: `deleted ${path}` }] };
});
await server.connect(new StdioServerTransport());
