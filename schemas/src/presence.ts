import { z } from 'zod';
import { envelope, Identity, Protocol, ResourceRef, Timestamp } from './envelope.ts';

/** A session a proxy instance is serving right now. */
export const LiveSessionView = z.object({
  sessionId: z.string().min(1),
  identity: Identity,
  resource: ResourceRef,
  protocol: Protocol,
  openedAt: Timestamp,
  clientAddress: z.string().optional(),
  tokenExpiresAt: Timestamp.optional(),
});
export type LiveSessionView = z.infer<typeof LiveSessionView>;

/**
 * Each proxy instance says, every `intervalMs`, which sessions it serves
 * (the envelope's `sessionId` is the instance). A session is live only while
 * a recent heartbeat lists it: a crashed proxy stops beating, and its
 * sessions stop being live without anyone writing their SessionClosed.
 * `stopping`: the instance shut down cleanly and serves nothing any more.
 */
export const GatewayHeartbeat = z.object({
  type: z.literal('GatewayHeartbeat'),
  ...envelope,
  instance: z.string().min(1),
  service: z.string().min(1),
  intervalMs: z.number().int().positive(),
  stopping: z.boolean().default(false),
  sessions: z.array(LiveSessionView),
});
export type GatewayHeartbeat = z.infer<typeof GatewayHeartbeat>;

export const PresenceTopicEvent = z.discriminatedUnion('type', [GatewayHeartbeat]);
export type PresenceTopicEvent = z.infer<typeof PresenceTopicEvent>;
