/**
 * The MCP service over Streamable HTTP (MCP 2025-06-18 transport):
 *   /mcp              the Portcullis MCP server (query, exec, http_request, …)
 *   /mcp/r/<name>     the MCP gateway in front of upstream MCP server <name>
 *   /.well-known/oauth-protected-resource[/mcp[/r/<name>]]   RFC 9728 metadata
 * Every MCP request carries a bearer token, verified each time; an MCP
 * session belongs to the identity that opened it (another identity's
 * request with its session id is refused) and to the endpoint it was opened
 * at. Sessions idle longer than the limit are closed.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Server as LowLevelServer } from '@modelcontextprotocol/sdk/server/index.js';
import type { Identity } from '@portcullis/schemas';
import { describeError, type IdentityVerifier } from '@portcullis/kit';
import type { ServiceContext } from './context.ts';
import { authenticate, challenge, METADATA_PATH, metadataDocument, protectedResource } from './auth.ts';
import { CallerSession } from './caller-session.ts';
import { registerPortcullisTools } from './portcullis-tools.ts';
import { createGatewayServer } from './gateway/gateway-server.ts';
import { McpServiceError } from './errors.ts';
import { closeCatalogs } from './tools/query.ts';

export interface McpServiceDeps extends ServiceContext {
  verifier: IdentityVerifier;
  /** The OpenID issuer callers get tokens from (named in the protected-resource metadata). */
  issuer: string;
  /** Close MCP sessions idle this long (default 30 min). */
  sessionIdleMs?: number;
  /** Largest JSON-RPC request body accepted (default 4 MiB). */
  maxBodyBytes?: number;
}

interface LiveSession {
  transport: StreamableHTTPServerTransport;
  caller: CallerSession;
  owner: Identity;
  endpoint: string;
  lastSeen: number;
  close: () => Promise<void>;
}

export interface McpService {
  server: Server;
  /** Listens; resolves with the base URL. */
  listen(port: number, host: string): Promise<string>;
  url(): string;
  close(): Promise<void>;
}

const SERVICE_INFO = { name: 'portcullis', version: '0.1.0' };

export function createMcpService(deps: McpServiceDeps): McpService {
  const sessions = new Map<string, LiveSession>();
  const idleMs = deps.sessionIdleMs ?? 30 * 60_000;
  const maxBody = deps.maxBodyBytes ?? 4 * 1024 * 1024;
  let baseUrl = deps.config.settings.publicUrl?.replace(/\/+$/, '') ?? '';

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      deps.logger.error({ err: describeError(err) }, 'MCP request failed');
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'PCL_ERR_INTERNAL', message: 'internal error' } });
      else res.end();
    });
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) if (now - s.lastSeen > idleMs) void s.close();
  }, Math.min(idleMs, 60_000));
  sweep.unref();

  /** `/mcp` or `/mcp/r/<name>` for a known upstream; undefined for anything else. */
  function endpointOf(path: string): string | undefined {
    if (path === '/mcp') return path;
    const m = /^\/mcp\/r\/([a-z0-9-]+)$/.exec(path);
    return m && deps.config.upstreams.some((u) => u.name === m[1]) ? path : undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname.replace(/\/+$/, '') || '/';
    if (path === METADATA_PATH || path.startsWith(`${METADATA_PATH}/`)) {
      const endpoint = path === METADATA_PATH ? '/mcp' : endpointOf(path.slice(METADATA_PATH.length));
      if (!endpoint || req.method !== 'GET') return sendJson(res, 404, { error: { code: 'PCL_ERR_NOT_FOUND', message: 'no such protected resource' } });
      return sendJson(res, 200, metadataDocument(protectedResource(baseUrl, endpoint, deps.issuer)));
    }
    const endpoint = endpointOf(path);
    if (!endpoint) return sendJson(res, 404, { error: { code: 'PCL_ERR_NOT_FOUND', message: 'the MCP endpoints are /mcp and /mcp/r/<upstream>' } });
    const resource = protectedResource(baseUrl, endpoint, deps.issuer);
    // DNS rebinding: a web page must not reach a Portcullis on loopback through the browser.
    const origin = req.headers.origin;
    if (origin !== undefined && !deps.config.settings.allowedOrigins.includes(origin)) {
      const e = new McpServiceError('PCL_ERR_FORBIDDEN_ORIGIN', `requests from origin ${origin.slice(0, 200)} are not allowed (mcp.allowedOrigins)`);
      return sendJson(res, e.status, { error: { code: e.code, message: e.message } });
    }

    const auth = await authenticate(deps.verifier, req.headers.authorization);
    if (!auth.ok) {
      if (auth.error.status === 401) res.setHeader('WWW-Authenticate', challenge(resource, auth.challenge));
      return sendJson(res, auth.error.status, { error: { code: auth.error.code, message: auth.error.message } });
    }
    const identity = auth.identity;

    const sessionId = req.headers['mcp-session-id'];
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = await readJson(req, maxBody);
      } catch (err) {
        return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: describeError(err) }, id: null });
      }
    }
    if (typeof sessionId === 'string') {
      const live = sessions.get(sessionId);
      if (!live || live.endpoint !== endpoint) return sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
      if (live.owner.subject !== identity.subject || live.owner.issuer !== identity.issuer) {
        const e = new McpServiceError('PCL_ERR_SESSION_MISMATCH', 'this MCP session belongs to another identity');
        return sendJson(res, e.status, { error: { code: e.code, message: e.message } });
      }
      live.lastSeen = Date.now();
      return live.transport.handleRequest(req, res, body);
    }
    if (req.method !== 'POST' || !isInitialize(body)) {
      return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no MCP session; start one with initialize' }, id: null });
    }
    await openSession(req, res, body, endpoint, identity, auth.expiresAt);
  }

  async function openSession(req: IncomingMessage, res: ServerResponse, body: unknown, endpoint: string, identity: Identity, tokenExpiresAt: string | undefined): Promise<void> {
    const mcpSessionId = randomUUID();
    const caller = new CallerSession(deps, identity, mcpSessionId, { address: req.socket.remoteAddress ?? 'unknown', ...(tokenExpiresAt ? { tokenExpiresAt } : {}) });
    caller.setClientName(clientNameOf(body));
    let mcp: McpServer | LowLevelServer;
    let closeUpstream: () => Promise<void> = async () => undefined;
    if (endpoint === '/mcp') {
      const server = new McpServer(SERVICE_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });
      registerPortcullisTools(server, deps, caller);
      mcp = server;
    } else {
      const upstream = deps.config.upstreams.find((u) => `/mcp/r/${u.name}` === endpoint)!;
      const gateway = createGatewayServer(deps, caller, upstream);
      mcp = gateway.server;
      closeUpstream = gateway.close;
    }
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => mcpSessionId,
      onsessioninitialized: (id) => {
        sessions.set(id, live);
      },
    });
    let closed = false;
    const live: LiveSession = {
      transport,
      caller,
      owner: identity,
      endpoint,
      lastSeen: Date.now(),
      close: async () => {
        if (closed) return;
        closed = true;
        sessions.delete(mcpSessionId);
        await transport.close().catch(() => undefined);
        await closeUpstream().catch(() => undefined);
        // A held call no one can wait for any more is withdrawn, as when a psql client goes away.
        await caller.close('MCP session ended', async () => {
          await Promise.all(deps.pending.takeSession(mcpSessionId).map((c) => c.withdraw('the MCP session ended before the call was approved')));
        });
      },
    };
    transport.onclose = () => void live.close();
    await mcp.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          const { port: bound } = server.address() as AddressInfo;
          if (!baseUrl) baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`;
          resolve(baseUrl);
        });
      }),
    url: () => baseUrl,
    async close() {
      clearInterval(sweep);
      await Promise.all([...sessions.values()].map((s) => s.close()));
      await closeCatalogs();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const INSTRUCTIONS =
  'Portcullis is an access gateway: every call is recorded and judged by policy before it runs. ' +
  'Start with list_resources and describe_resource. A blocked call returns an error naming the rule; ' +
  'a held call returns an approval id: a human must approve it, wait_for_approval waits and then returns the result.';

function isInitialize(body: unknown): boolean {
  const messages = Array.isArray(body) ? body : [body];
  return messages.some((m) => typeof m === 'object' && m !== null && (m as { method?: unknown }).method === 'initialize');
}

function clientNameOf(body: unknown): string | undefined {
  const messages = Array.isArray(body) ? body : [body];
  const init = messages.find((m) => (m as { method?: unknown } | null)?.method === 'initialize') as { params?: { clientInfo?: { name?: unknown } } } | undefined;
  const name = init?.params?.clientInfo?.name;
  return typeof name === 'string' ? name.slice(0, 100) : undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error(`request body larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('Parse error: the body is not JSON');
  }
}
