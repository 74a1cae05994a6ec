/**
 * Live sessions as the proxies report them: the latest heartbeat of every
 * proxy instance (portcullis.gateway-presence). A session is live while a
 * heartbeat younger than three intervals lists it; a crashed proxy's
 * sessions drop out on their own, a cleanly stopped one says `stopping`.
 */
import type { GatewayHeartbeat, LiveSessionView } from '@portcullis/schemas';
import type { Bus } from '../bus/bus.ts';
import { followTopic, type Follower } from '../bus/follow.ts';

/** How many heartbeat intervals may pass before an instance counts as gone. */
export const MISSED_HEARTBEATS = 3;

export type LiveSession = LiveSessionView & { instance: string; service: string; reportedAt: string };

export function liveSessionsOf(heartbeats: Iterable<GatewayHeartbeat>, now = Date.now()): LiveSession[] {
  const out: LiveSession[] = [];
  for (const beat of heartbeats) {
    if (beat.stopping) continue;
    if (Date.parse(beat.occurredAt) + MISSED_HEARTBEATS * beat.intervalMs < now) continue;
    for (const s of beat.sessions) out.push({ ...s, instance: beat.instance, service: beat.service, reportedAt: beat.occurredAt });
  }
  return out.sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.sessionId.localeCompare(b.sessionId));
}

export interface PresenceView {
  live(): LiveSession[];
  stop(): Promise<void>;
}

/** Follows the presence topic (a group of its own) and answers with the live sessions. */
export async function followPresence(bus: Bus, name = 'presence'): Promise<PresenceView> {
  const latest = new Map<string, GatewayHeartbeat>();
  const follower: Follower = await followTopic(bus, 'presence', (beat) => {
    const previous = latest.get(beat.instance);
    if (!previous || previous.occurredAt <= beat.occurredAt) latest.set(beat.instance, beat);
  }, { name });
  await follower.caughtUp;
  return { live: () => liveSessionsOf(latest.values()), stop: () => follower.stop() };
}
