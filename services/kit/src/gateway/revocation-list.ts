/** The revocation list kept current from portcullis.revocations, for processes that read it (the admin API). */
import type { Bus } from '../bus/bus.ts';
import { followTopic } from '../bus/follow.ts';
import { evolveRevocations, initialRevocationState, type RevocationState } from './revocation-state.ts';

export interface RevocationList {
  state(): RevocationState;
  stop(): Promise<void>;
}

export async function followRevocations(bus: Bus, name = 'revocation-list'): Promise<RevocationList> {
  let state = initialRevocationState;
  const follower = await followTopic(bus, 'revocations', (event) => void (state = evolveRevocations(state, event)), { name });
  await follower.caughtUp;
  return { state: () => state, stop: () => follower.stop() };
}
