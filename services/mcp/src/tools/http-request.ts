/**
 * `http_request`: a request to an HTTP or Kubernetes resource. The command
 * is built by the HTTP proxy's own buildHttpCommand (normalised path,
 * canonical-form checks for Kubernetes, the headers policies see, the body
 * digest), judged by the same policy, and forwarded with the gateway-held
 * credential. Only the headers the policy saw are forwarded. A masked
 * response is rewritten with the HTTP proxy's JSON / text masking; a
 * response that must be masked but cannot be (binary, compressed, too big)
 * is not returned (fail closed).
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { request, type Agent } from 'undici';
import type { HttpCommand, VerdictIssued } from '@portcullis/schemas';
import { ALL_DETECTORS, maskText, type SessionRecord } from '@portcullis/kit';
import { buildHttpCommand, createAgent, credentialHeaders, maskJsonText, maskLine, maskModeFor, planFromMask, upstreamUrl, type ProxiedResource } from '@portcullis/proxy-http';
import type { ServiceContext } from '../context.ts';
import { McpServiceError } from '../errors.ts';
import { capText, errorResult, textResult } from '../result.ts';

export interface HttpRequestInput {
  method: string;
  /** Path on the resource, optionally with a query string. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface HttpRequestPlan {
  command: HttpCommand;
  /** Sent upstream as given (the command carries the normalised path the policy judged). */
  upstreamPath: string;
  query: string;
}

/** The command for a request, or a refusal (a path or header that cannot be judged). */
export function httpCommandOf(resource: ProxiedResource, input: HttpRequestInput): HttpRequestPlan {
  if (!input.path.startsWith('/')) throw new McpServiceError('PCL_ERR_BAD_REQUEST', 'path must start with /');
  const q = input.path.indexOf('?');
  const upstreamPath = q < 0 ? input.path : input.path.slice(0, q);
  const query = q < 0 ? '' : input.path.slice(q + 1);
  const headers = Object.fromEntries(Object.entries(input.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
  try {
    const command = buildHttpCommand({ resource, method: input.method, upstreamPath, query, headers, body: Buffer.from(input.body ?? '', 'utf8'), bodyBytesInCommand: 0 });
    return { command, upstreamPath, query };
  } catch (err) {
    throw new McpServiceError('PCL_ERR_BAD_REQUEST', (err as Error).message, { cause: err });
  }
}

const agents = new WeakMap<ProxiedResource, Agent>();
const agentOf = (resource: ProxiedResource): Agent => {
  let agent = agents.get(resource);
  if (!agent) agents.set(resource, (agent = createAgent(resource)));
  return agent;
};

async function readCapped(body: AsyncIterable<Buffer>, cap: number): Promise<{ data: Buffer; total: number }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (size < cap) {
      const part = chunk.subarray(0, cap - size);
      chunks.push(part);
      size += part.length;
    }
  }
  return { data: Buffer.concat(chunks), total };
}

export async function runHttpRequest(
  ctx: ServiceContext,
  resource: ProxiedResource,
  input: HttpRequestInput,
  planned: HttpRequestPlan,
  verdict: VerdictIssued,
  commandId: string,
  record: SessionRecord,
): Promise<CallToolResult> {
  const settings = ctx.config.settings;
  const started = Date.now();
  const { command } = planned;
  const secretResource = command.kubernetes?.resource === 'secrets';
  const plan = planFromMask(verdict.effect === 'mask' ? verdict.mask : undefined, {
    secrets: resource.protocol === 'kubernetes' && resource.maskSecrets && secretResource,
    secretResource,
  });
  const masking = plan.fields.length > 0 || plan.detectors.length > 0 || plan.secrets;
  try {
    const credentials = credentialHeaders(resource, ctx.env);
    // Only what the policy saw goes upstream, and the credential the gateway holds.
    const headers: Record<string, string> = { ...command.headers, ...(input.body ? { 'content-type': command.headers['content-type'] ?? 'application/json' } : {}), ...(masking ? { 'accept-encoding': 'identity' } : {}), ...credentials };
    const url = upstreamUrl(resource, planned.upstreamPath, planned.query);
    const res = await request(url, {
      method: command.method as 'GET',
      headers,
      ...(input.body ? { body: input.body } : {}),
      dispatcher: agentOf(resource),
      headersTimeout: settings.commandTimeoutMs,
      bodyTimeout: settings.commandTimeoutMs,
    });
    const contentType = typeof res.headers['content-type'] === 'string' ? res.headers['content-type'] : undefined;
    const contentEncoding = typeof res.headers['content-encoding'] === 'string' ? res.headers['content-encoding'] : undefined;
    // A masked body is read whole (up to the cap) before it is masked; above the cap it is refused, never passed unmasked.
    const cap = masking ? settings.maxResultBytes * 16 : settings.maxResultBytes;
    const { data, total } = await readCapped(res.body as AsyncIterable<Buffer>, cap);
    let text = data.toString('utf8');
    if (masking) {
      if (total > cap) throw new McpServiceError('PCL_ERR_MASK_LIMIT', `the response must be masked but exceeds ${cap} bytes; it is not returned`);
      const mode = maskModeFor(contentType, contentEncoding);
      if (mode === 'refuse') throw new McpServiceError('PCL_ERR_MASK_LIMIT', `the response (${contentType ?? 'no content type'}) must be masked but cannot be; it is not returned`);
      text = mode === 'json' ? maskJsonText(text, plan) : mode === 'lines' ? text.split('\n').map((l) => maskLine(l, plan)).join('\n') : maskText(text, plan.detectors);
    }
    const scrub = Object.values(credentials).flatMap((v) => [v, v.replace(/^(Bearer|Basic) /, '')]).filter((s) => s.length >= 4);
    for (const s of scrub) text = text.split(s).join('****');
    const shown = capText(text, settings.maxResultBytes);
    const truncated = shown.truncated || total > data.length;
    const status = res.statusCode;
    record.commandCompleted({ commandId, status: status < 400 ? 'executed' : 'failed', durationMs: Date.now() - started, tag: String(status) });
    if (settings.recordBytes > 0) {
      const recorded = capText(maskText(text, ALL_DETECTORS), settings.recordBytes);
      record.outputRecorded({ commandId, format: 'http', text: recorded.text, truncated: recorded.truncated || truncated });
    }
    const marker = total > data.length && !shown.truncated ? `\n[truncated by Portcullis: ${data.length} of ${total} bytes shown]` : '';
    const result = textResult(`HTTP ${status}${contentType ? ` (${contentType})` : ''}\n${shown.text}${marker}`, { resource: resource.name, status, contentType: contentType ?? null, body: shown.text, truncated, effect: verdict.effect });
    return status < 400 ? result : { ...result, isError: true };
  } catch (err) {
    const e = err instanceof McpServiceError ? err : new McpServiceError('PCL_ERR_TARGET', `${resource.name} could not be reached: ${(err as Error).message}`);
    record.commandCompleted({ commandId, status: 'failed', durationMs: Date.now() - started, error: e.message.slice(0, 2000) });
    return errorResult(e.code, e.message);
  }
}
