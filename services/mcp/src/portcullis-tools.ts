/**
 * The Portcullis MCP server's tools (docs/protocols/mcp.md). Each tool that
 * reaches a target builds the same command a protocol client would cause
 * (SQL text, an exec command line, an HTTP request) and hands it to
 * judgeAndRun; the tool's own code runs only under an allow or mask verdict.
 */
import { z } from 'zod';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ServiceContext } from './context.ts';
import type { CallerSession } from './caller-session.ts';
import { judgeAndRun } from './judge-call.ts';
import { findResource, protocolOf, refOf, type AnyResource } from './resources.ts';
import { errorResult } from './result.ts';
import { runQuery, sqlCommand } from './tools/query.ts';
import { runExec, shellCommand } from './tools/exec.ts';
import { httpCommandOf, runHttpRequest } from './tools/http-request.ts';
import { CATALOG_SQL, describeDatabase, describeEndpoint, listResources } from './tools/resources.ts';
import { approvalStatus, waitForApproval } from './tools/approvals.ts';
import { McpServiceError } from './errors.ts';

const reason = z.string().max(2000).optional().describe('Why you need this (shown to approvers when the call is held)');

function resourceOfKind<K extends AnyResource['protocol']>(ctx: ServiceContext, name: string, kinds: readonly K[]): Extract<AnyResource, { protocol: K }> | CallToolResult {
  const r = findResource(ctx.config, name);
  if (!r) return errorResult('PCL_ERR_NOT_FOUND', `no resource named "${name}"; list_resources shows them`);
  if (!(kinds as readonly string[]).includes(r.protocol)) return errorResult('PCL_ERR_BAD_REQUEST', `${name} is of kind ${r.protocol}; use ${r.protocol === 'postgres' ? 'query' : r.protocol === 'ssh' ? 'exec' : 'http_request'}`);
  return r as Extract<AnyResource, { protocol: K }>;
}
const isResult = (x: unknown): x is CallToolResult => typeof x === 'object' && x !== null && 'content' in x;

export function registerPortcullisTools(server: McpServer, ctx: ServiceContext, session: CallerSession): void {
  server.registerTool(
    'list_resources',
    { title: 'List resources', description: 'The databases, hosts and APIs this gateway reaches, with the tool for each.', annotations: { readOnlyHint: true } },
    async () => listResources(ctx),
  );

  server.registerTool(
    'describe_resource',
    {
      title: 'Describe a resource',
      description: 'A database resource: the tables you may read and their columns, what the policy does with a read of each (allow, mask, hold) and which columns come back masked. Other resources: how to reach them.',
      inputSchema: { resource: z.string().describe('Resource name from list_resources') },
      annotations: { readOnlyHint: true },
    },
    async ({ resource }, extra) => {
      const r = findResource(ctx.config, resource);
      if (!r) return errorResult('PCL_ERR_NOT_FOUND', `no resource named "${resource}"; list_resources shows them`);
      if (r.protocol !== 'postgres') return describeEndpoint(r);
      // The catalog read is a command of the caller's like any query: recorded and judged.
      return judgeAndRun(ctx, session, { resource: refOf(r), protocol: 'postgres' }, sqlCommand(CATALOG_SQL), (v, id, rec) => describeDatabase(ctx, session.identity, r, v, id, rec), { signal: extra.signal });
    },
  );

  server.registerTool(
    'query',
    {
      title: 'Run SQL',
      description:
        'Runs SQL on a PostgreSQL resource through Portcullis: recorded, judged by policy, masked. A blocked statement returns an error naming the rule; a held one returns an approval id to wait for with wait_for_approval.',
      inputSchema: { resource: z.string().describe('PostgreSQL resource name'), sql: z.string().min(1).describe('SQL text (one or more statements)'), reason },
    },
    async ({ resource, sql, reason: why }, extra) => {
      const r = resourceOfKind(ctx, resource, ['postgres'] as const);
      if (isResult(r)) return r;
      return judgeAndRun(ctx, session, { resource: refOf(r), protocol: 'postgres' }, sqlCommand(sql), (v, id, rec) => runQuery(ctx, r, sql, v, id, rec), { ...(why ? { reason: why } : {}), signal: extra.signal });
    },
  );

  server.registerTool(
    'exec',
    {
      title: 'Run a command on a host',
      description: 'Runs a command line on an SSH resource through Portcullis (recorded, judged by policy, output masked and capped).',
      inputSchema: { resource: z.string().describe('SSH resource name'), command: z.string().min(1).describe('The command line, as you would type it'), reason },
    },
    async ({ resource, command, reason: why }, extra) => {
      const r = resourceOfKind(ctx, resource, ['ssh'] as const);
      if (isResult(r)) return r;
      return judgeAndRun(ctx, session, { resource: refOf(r), protocol: 'ssh' }, shellCommand(r, command), (v, id, rec) => runExec(ctx, r, command, v, id, rec), { ...(why ? { reason: why } : {}), signal: extra.signal });
    },
  );

  server.registerTool(
    'http_request',
    {
      title: 'Call an HTTP or Kubernetes API',
      description: 'Sends a request to an HTTP or Kubernetes resource through Portcullis; the gateway adds the credential. Recorded, judged by policy, response masked and capped.',
      inputSchema: {
        resource: z.string().describe('HTTP or Kubernetes resource name'),
        method: z.string().regex(/^[A-Za-z]+$/).default('GET'),
        path: z.string().min(1).describe('Path on the resource, with a query string if any, e.g. /v1/customers?limit=5'),
        headers: z.record(z.string(), z.string()).optional().describe('Extra request headers (content-type, accept)'),
        body: z.string().optional().describe('Request body (JSON text)'),
        reason,
      },
    },
    async ({ resource, method, path, headers, body, reason: why }, extra) => {
      const r = resourceOfKind(ctx, resource, ['http', 'kubernetes'] as const);
      if (isResult(r)) return r;
      const input = { method, path, ...(headers ? { headers } : {}), ...(body !== undefined ? { body } : {}) };
      let planned;
      try {
        planned = httpCommandOf(r, input);
      } catch (err) {
        const e = err instanceof McpServiceError ? err : new McpServiceError('PCL_ERR_BAD_REQUEST', (err as Error).message);
        return errorResult(e.code, `${e.message}; nothing was sent`);
      }
      return judgeAndRun(ctx, session, { resource: refOf(r), protocol: protocolOf(r) }, planned.command, (v, id, rec) => runHttpRequest(ctx, r, input, planned, v, id, rec), {
        ...(why ? { reason: why } : {}),
        signal: extra.signal,
      });
    },
  );

  server.registerTool(
    'approval_status',
    {
      title: 'Approval status',
      description: 'Whether a held call (by the approval id it returned) is still pending, granted or denied. Does not wait.',
      inputSchema: { approval_id: z.string().min(1) },
      annotations: { readOnlyHint: true },
    },
    async ({ approval_id }) => approvalStatus(ctx, session.identity, approval_id),
  );

  server.registerTool(
    'wait_for_approval',
    {
      title: 'Wait for an approval',
      description: 'Waits for a held call to be decided. Once granted, the call runs and its result is returned; a denial returns an error with the reason. Call again if it is still pending when the wait ends.',
      inputSchema: { approval_id: z.string().min(1), timeout_seconds: z.number().int().positive().max(3600).default(60) },
    },
    async ({ approval_id, timeout_seconds }, extra) => waitForApproval(ctx, session.identity, approval_id, timeout_seconds, extra.signal),
  );
}
