/**
 * Which resources a caller may connect to, for `portcullis resources`: those
 * for which the policy in force has at least one allow or hold rule whose
 * identity, resource and protocol conditions take the caller in. Whether a
 * given command then runs still depends on the command; a resource every
 * rule would block (or that no rule admits, under defaultEffect block) is
 * not listed. Resources the PDP does not know (knownResources) are left out.
 */
import type { Identity, Protocol, ResourceRef } from '@portcullis/schemas';
import { matchesContext } from './match.ts';
import { playgroundCommand } from './playground.ts';
import type { PolicyState } from './policy/state.ts';

export interface ReachableResource {
  resource: ResourceRef;
  /** The allow / hold rules that admit the caller, in policy order. */
  rules: { id: string; effect: 'allow' | 'hold'; reason: string }[];
}

const protocolOf = (kind: ResourceRef['kind']): Protocol => (kind === 'kubernetes' ? 'http' : kind);

export function reachableResources(state: PolicyState, identity: Identity, resources: readonly ResourceRef[]): ReachableResource[] {
  const policy = state.policy;
  if (!policy) return [];
  const reachable: ReachableResource[] = [];
  for (const resource of resources) {
    if (state.knownResources && !state.knownResources.has(resource.name)) continue;
    // Only identity, resource and protocol are looked at (matchesContext); the command itself is a placeholder.
    const command = playgroundCommand(identity, resource, { sql: '' }, protocolOf(resource.kind), 'resources');
    const rules = policy.rules
      .filter((r): r is typeof r & { effect: 'allow' | 'hold' } => (r.effect === 'allow' || r.effect === 'hold') && matchesContext(r, command))
      .map((r) => ({ id: r.id, effect: r.effect, reason: r.reason }));
    if (rules.length > 0) reachable.push({ resource, rules });
  }
  return reachable;
}
