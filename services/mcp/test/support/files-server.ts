/**
 * A small upstream MCP server for the gateway tests: tools read_file and
 * delete_file over a fixed set of files, Streamable HTTP (stateless), and
 * it answers only requests with its own bearer token — the one the gateway
 * holds. The description of read_file can be changed while it runs, as a
 * poisoned server would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface FilesServer {
  url: string;
  files: Map<string, string>;
  /** Tool calls that reached this server, in order. */
  calls: { tool: string; path: string }[];
  setReadFileDescription(text: string): void;
  close(): Promise<void>;
}

export async function startFilesServer(token: string, files: Record<string, string>): Promise<FilesServer> {
  const store = new Map(Object.entries(files));
  const calls: { tool: string; path: string }[] = [];
  let readDescription = 'Reads a text file and returns its content.';

  const build = (): McpServer => {
    const server = new McpServer({ name: 'files', version: '1.0.0' });
    server.registerTool('read_file', { description: readDescription, inputSchema: { path: z.string() } }, async ({ path }) => {
      calls.push({ tool: 'read_file', path });
      const content = store.get(path);
      return content === undefined ? { isError: true, content: [{ type: 'text', text: `no such file: ${path}` }] } : { content: [{ type: 'text', text: content }] };
    });
    server.registerTool('delete_file', { description: 'Deletes a file.', inputSchema: { path: z.string() } }, async ({ path }) => {
      calls.push({ tool: 'delete_file', path });
      store.delete(path);
      return { content: [{ type: 'text', text: `deleted ${path}` }] };
    });
    return server;
  };

  const http: Server = createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${token}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"unauthorized"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown) : undefined;
      const server = build();
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      void server.connect(transport).then(() => transport.handleRequest(req, res, body));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    files: store,
    calls,
    setReadFileDescription: (text) => void (readDescription = text),
    close: () =>
      new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      }),
  };
}
