/**
 * The MCP gateway for one caller session and one upstream MCP server
 * (`protocol: mcp` resource). tools/list shows the upstream's tools the
 * policy could let this caller run, plus Portcullis's own approval tools.
 * tools/call is a command (protocol mcp, kind mcp-tool: tool name, the
 * arguments as sent, the tool definition's digest) recorded and judged like
 * every other before it reaches the upstream; the result is masked with the
 * verdict's detectors and fields, capped and recorded.
 *
 * Tool poisoning: the first definition of each tool this session sees is
 * pinned. Before each call the upstream's current definition is read; if it
 * differs, the call is marked toolChanged (class tool-changed), which no rule
 * admits unless it names that class — the example policy holds it for a
 * human — and tools/list flags the tool in its description.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpToolCall, ResourceRef, VerdictIssued } from '@portcullis/schemas';
import { ALL_DETECTORS, describeError, maskText, type SessionRecord } from '@portcullis/kit';
import { mcpToolListed } from '@portcullis/policy-decision';
import { maskJson, planFromMask } from '@portcullis/proxy-http';
import type { McpUpstreamResource } from '../config.ts';
import type { ServiceContext } from '../context.ts';
import type { CallerSession } from '../caller-session.ts';
import { judgeAndRun } from '../judge-call.ts';
import { capText, errorResult } from '../result.ts';
import { approvalStatus, waitForApproval } from '../tools/approvals.ts';
import { connectUpstream } from './upstream.ts';
import { toolDigest } from './tool-digest.ts';

/** Arguments above this are refused: they are recorded whole in CommandRequested (a Kafka message). */
const MAX_ARGUMENT_BYTES = 256 * 1024;

export const CHANGED_FLAG = '[Portcullis: this tool changed since this session first listed it; calls to it are held for review]';

const APPROVAL_TOOLS: Tool[] = [
  {
    name: 'portcullis_approval_status',
    description: 'Portcullis: whether a held call (by the approval id it returned) is pending, granted or denied. Does not wait.',
    inputSchema: { type: 'object', properties: { approval_id: { type: 'string' } }, required: ['approval_id'] },
  },
  {
    name: 'portcullis_wait_for_approval',
    description: 'Portcullis: waits for a held call to be decided; once granted the call runs and its result is returned.',
    inputSchema: { type: 'object', properties: { approval_id: { type: 'string' }, timeout_seconds: { type: 'number' } }, required: ['approval_id'] },
  },
];

export function createGatewayServer(ctx: ServiceContext, caller: CallerSession, upstream: McpUpstreamResource): { server: Server; close: () => Promise<void> } {
  const server = new Server({ name: `portcullis-gateway-${upstream.name}`, version: '0.1.0' }, { capabilities: { tools: { listChanged: true } } });
  const resource: ResourceRef = { name: upstream.name, kind: 'mcp', tags: upstream.tags };
  /** Digest of each tool's definition as this session first saw it. */
  const pinned = new Map<string, string>();
  let client: Promise<Client> | undefined;

  const upstreamClient = (): Promise<Client> => {
    client ??= connectUpstream(upstream, ctx.env).then((c) => {
      // The upstream says its tools changed: tell the caller, who will list again (and see the flag).
      c.setNotificationHandler(ToolListChangedNotificationSchema, () => void server.sendToolListChanged().catch(() => undefined));
      return c;
    });
    client.catch(() => (client = undefined));
    return client;
  };

  async function upstreamTools(): Promise<Tool[]> {
    const c = await upstreamClient();
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await c.listTools(cursor ? { cursor } : {});
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && tools.length < 10_000);
    return tools;
  }

  const listed = (tool: string): boolean => {
    const state = ctx.policyState?.();
    return state ? mcpToolListed(state, { identity: caller.identity, resource }, tool) : true;
  };

  server.setRequestHandler(ListToolsRequestSchema, async () => {
    let tools: Tool[];
    try {
      tools = await upstreamTools();
    } catch (err) {
      throw new Error(`the upstream MCP server ${upstream.name} could not be reached: ${describeError(err)}`);
    }
    const shown: Tool[] = [];
    for (const tool of tools) {
      if (tool.name.startsWith('portcullis_')) continue;
      const digest = toolDigest(tool);
      const first = pinned.get(tool.name);
      if (first === undefined) pinned.set(tool.name, digest);
      if (!listed(tool.name)) continue;
      shown.push(first !== undefined && first !== digest ? { ...tool, description: `${CHANGED_FLAG} ${tool.description ?? ''}`.trim() } : tool);
    }
    return { tools: [...shown, ...APPROVAL_TOOLS] };
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const { name } = request.params;
    const args = request.params.arguments ?? {};
    if (name === 'portcullis_approval_status') return approvalStatus(ctx, caller.identity, String(args.approval_id ?? ''));
    if (name === 'portcullis_wait_for_approval') {
      const timeout = typeof args.timeout_seconds === 'number' ? args.timeout_seconds : 60;
      return waitForApproval(ctx, caller.identity, String(args.approval_id ?? ''), timeout, extra.signal);
    }
    const argumentsText = JSON.stringify(args);
    // The arguments go into the record whole; what cannot be recorded is not run.
    if (Buffer.byteLength(argumentsText, 'utf8') > MAX_ARGUMENT_BYTES) {
      return errorResult('PCL_ERR_BAD_REQUEST', `the arguments are larger than ${MAX_ARGUMENT_BYTES} bytes; Portcullis records every call whole, so it was not run`);
    }
    let current: Tool | undefined;
    try {
      current = (await upstreamTools()).find((t) => t.name === name);
    } catch (err) {
      return errorResult('PCL_ERR_TARGET', `the upstream MCP server ${upstream.name} could not be reached: ${describeError(err)}; nothing was run`);
    }
    const digest = current ? toolDigest(current) : undefined;
    const first = pinned.get(name);
    if (first === undefined && digest !== undefined) pinned.set(name, digest);
    const command: McpToolCall = {
      kind: 'mcp-tool',
      tool: name,
      arguments: argumentsText,
      ...(digest ? { toolDigest: digest } : {}),
      toolChanged: first !== undefined && digest !== first,
    };
    return judgeAndRun(ctx, caller, { resource, protocol: 'mcp' }, command, (verdict, commandId, record) => callUpstream(name, args, verdict, commandId, record), { signal: extra.signal });
  });

  async function callUpstream(name: string, args: Record<string, unknown>, verdict: VerdictIssued, commandId: string, record: SessionRecord): Promise<CallToolResult> {
    const started = Date.now();
    const settings = ctx.config.settings;
    try {
      const c = await upstreamClient();
      const result = (await c.callTool({ name, arguments: args }, undefined, { timeout: settings.commandTimeoutMs })) as CallToolResult;
      const masked = maskResult(result, verdict, settings.maxResultBytes);
      record.commandCompleted({ commandId, status: result.isError ? 'failed' : 'executed', durationMs: Date.now() - started, tag: result.isError ? 'tool error' : 'ok' });
      if (settings.recordBytes > 0) {
        const text = masked.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
        const recorded = capText(maskText(text, ALL_DETECTORS), settings.recordBytes);
        record.outputRecorded({ commandId, format: 'http', text: recorded.text, truncated: recorded.truncated });
      }
      return masked;
    } catch (err) {
      const message = maskText(describeError(err), ['secret']);
      record.commandCompleted({ commandId, status: 'failed', durationMs: Date.now() - started, error: message.slice(0, 2000) });
      return errorResult('PCL_ERR_TARGET', `${upstream.name}: ${message}`);
    }
  }

  return {
    server,
    async close() {
      const c = await client?.catch(() => undefined);
      await c?.close().catch(() => undefined);
    },
  };
}

/**
 * The upstream's result as the caller may see it: under a mask verdict,
 * text goes through the detectors, structured content through the field and
 * detector masking, and content that cannot be masked (images, audio,
 * embedded resources) is withheld; every text is capped with a marker.
 */
export function maskResult(result: CallToolResult, verdict: VerdictIssued, maxBytes: number): CallToolResult {
  const mask = verdict.effect === 'mask' ? verdict.mask : undefined;
  const plan = planFromMask(mask, { secrets: false, secretResource: false });
  const masking = plan.fields.length > 0 || plan.detectors.length > 0;
  let budget = maxBytes;
  const content = (result.content ?? []).map((item) => {
    if (item.type === 'text') {
      const text = masking ? maskTextOrJson(item.text, plan) : item.text;
      const capped = capText(text, Math.max(0, budget));
      budget -= Buffer.byteLength(capped.text, 'utf8');
      return { ...item, text: capped.text };
    }
    if (masking) return { type: 'text' as const, text: `[${item.type} content withheld by Portcullis: it cannot be masked]` };
    return item;
  });
  const out: CallToolResult = { ...result, content };
  if (result.structuredContent !== undefined && masking) out.structuredContent = maskJson(result.structuredContent, plan) as Record<string, unknown>;
  return out;
}

function maskTextOrJson(text: string, plan: ReturnType<typeof planFromMask>): string {
  const trimmed = text.trim();
  if (plan.fields.length > 0 && (trimmed.startsWith('{') || trimmed.startsWith('['))) {
    try {
      return JSON.stringify(maskJson(JSON.parse(trimmed), plan));
    } catch {
      /* not JSON: the detectors below */
    }
  }
  return maskText(text, plan.detectors);
}
