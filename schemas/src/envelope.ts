import { z } from 'zod';

/** UUIDv7 (time-ordered) is what producers write; any RFC 4122 UUID is accepted on read. */
export const EventId = z.string().uuid();
export const Timestamp = z.string().datetime({ offset: true });
export const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

/** Fields every event carries. */
export const envelope = {
  eventId: EventId,
  occurredAt: Timestamp,
  sessionId: z.string().min(1).max(200),
};

/**
 * Fields of events a proxy writes about a session: `seq` counts 1, 2, 3 … per
 * session across portcullis.commands and portcullis.session-events, and
 * `digest` chains each event to the one before (see hash-chain.ts).
 */
export const sessionChain = {
  seq: z.number().int().positive(),
  digest: Sha256Hex,
};

export const Identity = z.object({
  subject: z.string().min(1),
  issuer: z.string().min(1),
  kind: z.enum(['human', 'service']),
  groups: z.array(z.string()).default([]),
  /** Display name or e-mail when the token carries one; never a credential. */
  name: z.string().optional(),
  /**
   * The OAuth client the token was issued to (client_id, azp or cid claim), when
   * the token names one: revoking a client ends every session of its tokens.
   */
  clientId: z.string().optional(),
});
export type Identity = z.infer<typeof Identity>;

/** `mcp`: a tool call to an upstream MCP server through the MCP gateway (docs/protocols/mcp.md). */
export const Protocol = z.enum(['postgres', 'ssh', 'http', 'mcp']);
export type Protocol = z.infer<typeof Protocol>;

export const ResourceRef = z.object({
  name: z.string().min(1),
  /** What the resource is: a PostgreSQL database, an SSH host, an HTTP service, a Kubernetes API or an upstream MCP server. */
  kind: z.enum(['postgres', 'ssh', 'http', 'kubernetes', 'mcp']),
  tags: z.array(z.string()).default([]),
});
export type ResourceRef = z.infer<typeof ResourceRef>;

/**
 * How the caller reached the gateway when it was not with the protocol's own
 * client: `mcp` — through the Portcullis MCP server or MCP gateway
 * (docs/protocols/mcp.md). Policies can match it (`match.via`).
 */
export const Via = z.enum(['mcp']);
export type Via = z.infer<typeof Via>;
