/**
 * A CommandRequested for a command typed by a person rather than captured by
 * a proxy: `portcullis policy eval|test` and the web console's policy
 * playground decide it with the PDP's own code, without Kafka.
 */
import { randomUUID } from 'node:crypto';
import type { CommandRequested, Identity, Protocol, ResourceRef } from '@portcullis/schemas';

/**
 * An HTTP request may carry the request headers policies see (`impersonate-*`, content-type, …).
 * `mcp` is a tool call through the MCP gateway (the tool name, its arguments). `via: mcp` makes
 * the command one that came through the MCP server or gateway.
 */
export type PlaygroundCommand = ({ sql: string } | { shell: string } | { http: string; headers?: Record<string, string> } | { mcp: string; arguments?: Record<string, unknown>; toolChanged?: boolean }) & {
  via?: 'mcp';
};

export function playgroundCommand(identity: Identity, resource: ResourceRef, when: PlaygroundCommand, protocol?: Protocol, sessionId = 'policy-playground'): CommandRequested {
  const command: CommandRequested['command'] =
    'sql' in when
      ? { kind: 'sql', text: when.sql, phase: 'simple' }
      : 'shell' in when
        ? { kind: 'shell', commandLine: when.shell, channel: 'exec' }
        : 'mcp' in when
          ? { kind: 'mcp-tool', tool: when.mcp, arguments: JSON.stringify(when.arguments ?? {}), toolChanged: when.toolChanged ?? false }
          : httpCommand(when.http, when.headers ?? {});
  const inferred: Protocol = command.kind === 'sql' ? 'postgres' : command.kind === 'shell' ? 'ssh' : command.kind === 'mcp-tool' ? 'mcp' : 'http';
  return {
    type: 'CommandRequested',
    eventId: randomUUID(),
    occurredAt: new Date().toISOString(),
    sessionId,
    seq: 1,
    digest: '0'.repeat(64),
    commandId: randomUUID(),
    identity,
    resource,
    protocol: protocol ?? inferred,
    command,
    ...(when.via || command.kind === 'mcp-tool' ? { via: 'mcp' as const } : {}),
  };
}

/** "METHOD /path?query", as a person types an HTTP request line. */
function httpCommand(line: string, headers: Record<string, string>): CommandRequested['command'] {
  const [method = '', target = '/'] = line.trim().split(/\s+/, 2);
  const q = target.indexOf('?');
  return {
    kind: 'http',
    method,
    path: q >= 0 ? target.slice(0, q) : target,
    query: q >= 0 ? target.slice(q + 1) : '',
    headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value])),
    bodySize: 0,
  };
}
