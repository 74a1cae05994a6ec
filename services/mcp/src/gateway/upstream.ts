/**
 * The gateway's MCP client towards one upstream server, with the upstream's
 * credential, which callers never see: Streamable HTTP with the credential
 * in a header, or a stdio command the gateway starts with the credentials in
 * its environment (and nothing else of the gateway's environment but PATH,
 * HOME and the locale).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { readSecret, type McpUpstreamResource } from '../config.ts';

const PASSED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'];

export function upstreamTransport(upstream: McpUpstreamResource, env: NodeJS.ProcessEnv = process.env): Transport {
  if (upstream.url) {
    const headers: Record<string, string> = {};
    if (upstream.credential) {
      const secret = readSecret(upstream.credential, `credential for ${upstream.name}`, env);
      if (upstream.inject === 'bearer') headers.authorization = `Bearer ${secret}`;
      else headers[upstream.inject.header.toLowerCase()] = secret;
    }
    return new StreamableHTTPClientTransport(new URL(upstream.url), { requestInit: { headers } });
  }
  const [command, ...args] = upstream.command!;
  const childEnv: Record<string, string> = {};
  for (const name of PASSED_ENV) if (env[name] !== undefined) childEnv[name] = env[name]!;
  for (const [name, ref] of Object.entries(upstream.env)) childEnv[name] = readSecret(ref, `${name} for ${upstream.name}`, env);
  return new StdioClientTransport({ command: command!, args, env: childEnv, stderr: 'ignore', ...(upstream.cwd ? { cwd: upstream.cwd } : {}) });
}

export async function connectUpstream(upstream: McpUpstreamResource, env?: NodeJS.ProcessEnv): Promise<Client> {
  const client = new Client({ name: 'portcullis-mcp-gateway', version: '0.1.0' }, { capabilities: {} });
  await client.connect(upstreamTransport(upstream, env));
  return client;
}
