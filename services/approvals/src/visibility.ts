/**
 * Who may see an approval (list and show): the requester (their own), the
 * members of its approver groups, and auditors. Nobody else learns that it
 * exists: the API answers as for an unknown id.
 */
import type { Identity } from '@portcullis/schemas';
import { identityKey, type KnownApproval } from './decider.ts';

/** The group whose members see every approval; matches the query API's PORTCULLIS_AUDITOR_GROUP. */
export const DEFAULT_AUDITOR_GROUP = 'auditors';

export function canSee(caller: Identity, approval: KnownApproval, auditorGroup = DEFAULT_AUDITOR_GROUP): boolean {
  const { request } = approval;
  if (identityKey(caller) === identityKey(request.identity)) return true;
  return caller.groups.some((g) => g === auditorGroup || request.approverGroups.includes(g));
}
