import { z } from 'zod';
import { envelope, sessionChain, Identity, Protocol, ResourceRef, Via } from './envelope.ts';

/** Where in the PostgreSQL protocol a statement came from (docs/protocols/postgres.md). */
export const SqlPhase = z.enum(['simple', 'parse', 'bind', 'function-call', 'copy-data']);

export const SqlCommand = z.object({
  kind: z.literal('sql'),
  text: z.string(),
  phase: SqlPhase.default('simple'),
  /** Extended protocol: the prepared statement's name ('' for the unnamed one). */
  statementName: z.string().optional(),
  /** Bound parameters in text form, null for SQL NULL; binary ones are shown as base64 with a `\\x` marker. */
  parameters: z.array(z.string().nullable()).optional(),
  /** FunctionCall messages name a function by OID. */
  functionOid: z.number().int().optional(),
});

export const ShellCommand = z.object({
  kind: z.literal('shell'),
  /** The command line exactly as the caller sent it (exec) or submitted it (interactive line). */
  commandLine: z.string(),
  channel: z.enum(['exec', 'shell', 'subsystem', 'direct-tcpip', 'tcpip-forward', 'agent-forward']),
  subsystem: z.string().optional(),
  /** Remote login user on the target. */
  targetUser: z.string().optional(),
  /** For port forwarding: the destination asked for. */
  forward: z.object({ host: z.string(), port: z.number().int() }).optional(),
});

export const KubernetesRequest = z.object({
  verb: z.enum(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection', 'proxy', 'connect']),
  apiGroup: z.string(),
  apiVersion: z.string(),
  resource: z.string(),
  subresource: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
});

export const HttpCommand = z.object({
  kind: z.literal('http'),
  method: z.string(),
  path: z.string(),
  query: z.string().default(''),
  /** Selected request headers, lower-cased names; credentials are never copied here. */
  headers: z.record(z.string(), z.string()).default({}),
  bodySize: z.number().int().nonnegative(),
  bodyDigest: z.string().optional(),
  /** Body text, only when a rule needs it, capped. */
  body: z.string().optional(),
  upgrade: z.string().optional(),
  kubernetes: KubernetesRequest.optional(),
});

/** A tool call to an upstream MCP server (the MCP gateway, docs/protocols/mcp.md). */
export const McpToolCall = z.object({
  kind: z.literal('mcp-tool'),
  /** The tool's name as the upstream lists it. */
  tool: z.string().min(1).max(500),
  /** The call's arguments as the caller sent them: a JSON object, as JSON text. */
  arguments: z.string(),
  /** sha256 of the tool's definition (description, input schema) when it was called. */
  toolDigest: z.string().optional(),
  /** The definition differs from the one this session first saw (a tool changed mid-session). */
  toolChanged: z.boolean().default(false),
});

export const Command = z.discriminatedUnion('kind', [SqlCommand, ShellCommand, HttpCommand, McpToolCall]);
export type Command = z.infer<typeof Command>;
export type SqlCommand = z.infer<typeof SqlCommand>;
export type ShellCommand = z.infer<typeof ShellCommand>;
export type HttpCommand = z.infer<typeof HttpCommand>;
export type McpToolCall = z.infer<typeof McpToolCall>;

export const CommandRequested = z.object({
  type: z.literal('CommandRequested'),
  ...envelope,
  ...sessionChain,
  commandId: z.string().uuid(),
  identity: Identity,
  resource: ResourceRef,
  protocol: Protocol,
  command: Command,
  /** Why the caller says it needs this (shown to approvers). */
  reason: z.string().max(2000).optional(),
  /**
   * Where the verdict is decided: `edge` — the proxy decided it itself and wrote the VerdictIssued
   * (the PDP verifies it); absent or `remote` — the PDP decides it.
   */
  decision: z.enum(['remote', 'edge']).optional(),
  /** The caller came through the MCP server or gateway; absent for the protocol's own clients. */
  via: Via.optional(),
  /**
   * The OpenTelemetry trace of this command (32 lowercase hex digits) when the gateway exports
   * traces (OTEL_EXPORTER_OTLP_ENDPOINT): an audit row links to its trace. Absent otherwise.
   */
  traceId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
});
export type CommandRequested = z.infer<typeof CommandRequested>;

export const CommandsTopicEvent = z.discriminatedUnion('type', [CommandRequested]);
export type CommandsTopicEvent = z.infer<typeof CommandsTopicEvent>;
