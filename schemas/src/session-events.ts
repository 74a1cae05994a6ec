import { z } from 'zod';
import { envelope, sessionChain, Identity, Protocol, ResourceRef, Via } from './envelope.ts';

export const SessionOpened = z.object({
  type: z.literal('SessionOpened'),
  ...envelope,
  ...sessionChain,
  identity: Identity,
  resource: ResourceRef,
  protocol: Protocol,
  clientAddress: z.string(),
  applicationName: z.string().optional(),
  reason: z.string().max(2000).optional(),
  /**
   * When the access token the caller opened the session with expires (its
   * exp claim). Absent when the session was not opened with a token (an SSH
   * public key registered earlier) or in events written before this field.
   */
  tokenExpiresAt: z.string().datetime({ offset: true }).optional(),
  /** The caller came through the MCP server or gateway. */
  via: Via.optional(),
  /** The MCP session this Portcullis session belongs to (one per MCP session and resource). */
  mcpSessionId: z.string().max(200).optional(),
});

export const CommandCompleted = z.object({
  type: z.literal('CommandCompleted'),
  ...envelope,
  ...sessionChain,
  commandId: z.string().uuid(),
  /** executed: reached the target and finished; failed: the target returned an error; refused: the gateway did not run it. */
  status: z.enum(['executed', 'failed', 'refused', 'cancelled']),
  rows: z.number().int().nonnegative().optional(),
  /** Command tag as the target reported it (e.g. "DELETE 3"), or an exit status. */
  tag: z.string().optional(),
  error: z.string().optional(),
  durationMs: z.number().nonnegative(),
});

export const OutputRecorded = z.object({
  type: z.literal('OutputRecorded'),
  ...envelope,
  ...sessionChain,
  commandId: z.string().uuid().optional(),
  /** rows: SQL result rows (masked); stream: terminal bytes as asciicast events; http: a response body excerpt. */
  format: z.enum(['rows', 'stream', 'http']),
  columns: z.array(z.string()).optional(),
  rows: z.array(z.array(z.string().nullable())).optional(),
  /** asciicast v2 events [seconds since session start, "o"|"i"|"r", data]. */
  stream: z.array(z.tuple([z.number(), z.enum(['o', 'i', 'r']), z.string()])).optional(),
  text: z.string().optional(),
  truncated: z.boolean().default(false),
});

export const SessionClosed = z.object({
  type: z.literal('SessionClosed'),
  ...envelope,
  ...sessionChain,
  reason: z.string().optional(),
  durationMs: z.number().nonnegative(),
});

export const SessionTopicEvent = z.discriminatedUnion('type', [SessionOpened, CommandCompleted, OutputRecorded, SessionClosed]);
export type SessionTopicEvent = z.infer<typeof SessionTopicEvent>;
export type SessionOpened = z.infer<typeof SessionOpened>;
export type CommandCompleted = z.infer<typeof CommandCompleted>;
export type OutputRecorded = z.infer<typeof OutputRecorded>;
export type SessionClosed = z.infer<typeof SessionClosed>;
