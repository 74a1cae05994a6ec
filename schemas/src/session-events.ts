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

/**
 * One file operation of an SSH file transfer (scp's protocol on an exec channel, or the SFTP
 * subsystem), recorded as what was transferred instead of the bytes themselves.
 */
export const FileTransfer = z.object({
  protocol: z.enum(['scp', 'sftp']),
  /**
   * upload / download: file content moved to / from the target; remove … setstat: SFTP requests that change the
   * target's file system; unrecorded: what the recorder could not follow from there on (error says why).
   */
  operation: z.enum(['upload', 'download', 'remove', 'rename', 'mkdir', 'rmdir', 'symlink', 'hardlink', 'setstat', 'unrecorded']),
  /** The path as the protocol named it (SFTP: as requested; scp: the command's operand joined with the names in the stream). */
  path: z.string().max(4096),
  /** scp: the file's name as the stream announced it, under the directories it entered (path is where it went when that is a directory). */
  name: z.string().max(4096).optional(),
  /** rename / symlink: the second path. */
  toPath: z.string().max(4096).optional(),
  /** Content bytes relayed (upload / download). */
  bytes: z.number().int().nonnegative().default(0),
  /** Hex SHA-256 of the content, when it went through in order from offset 0 (absent otherwise, e.g. SFTP reads at random offsets). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  /** scp: the file's announced size; false when the channel ended before it all went through. */
  complete: z.boolean().default(true),
  /** The target's or the protocol's error, when the operation failed. */
  error: z.string().max(500).optional(),
});

export const OutputRecorded = z.object({
  type: z.literal('OutputRecorded'),
  ...envelope,
  ...sessionChain,
  commandId: z.string().uuid().optional(),
  /** rows: SQL result rows (masked); stream: terminal bytes as asciicast events; http: a response body excerpt; transfer: one SSH file operation. */
  format: z.enum(['rows', 'stream', 'http', 'transfer']),
  columns: z.array(z.string()).optional(),
  rows: z.array(z.array(z.string().nullable())).optional(),
  /** asciicast v2 events [seconds since session start, "o"|"i"|"r", data]. */
  stream: z.array(z.tuple([z.number(), z.enum(['o', 'i', 'r']), z.string()])).optional(),
  text: z.string().optional(),
  transfer: FileTransfer.optional(),
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
export type FileTransfer = z.infer<typeof FileTransfer>;
export type SessionClosed = z.infer<typeof SessionClosed>;
