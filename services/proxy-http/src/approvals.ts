import { isDeepStrictEqual } from 'node:util';
import type { HttpCommand, Identity } from '@portcullis/schemas';
import { HttpProxyError } from './errors.ts';

interface HeldRequest {
  commandId: string;
  subject: string;
  issuer: string;
  resource: string;
  /** The held command as judged: method, normalised path, query, policy-visible headers, body digest, upgrade. */
  command: HttpCommand;
  at: number;
}

/** What a replay must repeat exactly: everything the policy saw of the request. */
function judgedParts(c: HttpCommand): Record<string, unknown> {
  return { method: c.method, path: c.path, query: c.query, headers: c.headers, bodyDigest: c.bodyDigest ?? '', upgrade: c.upgrade ?? '' };
}

/**
 * Held requests of respond-mode resources, by approval id, so a retry with
 * `Portcullis-Approval: <id>` can be matched to the original command (same
 * caller, resource, method, normalised path, query, policy-visible headers —
 * Impersonate-* among them — and body digest) and proceed on its final
 * verdict, once. Kept in memory for `ttlMs` (default 24 h); a retry must
 * reach the proxy instance that answered 202.
 */
export class PendingApprovals {
  private readonly held = new Map<string, HeldRequest>();
  constructor(private readonly ttlMs = 24 * 3600_000, private readonly max = 10_000) {}

  add(approvalId: string, entry: Omit<HeldRequest, 'at'>): void {
    this.prune();
    this.held.set(approvalId, { ...entry, at: Date.now() });
  }

  match(approvalId: string, identity: Identity, resource: string, command: HttpCommand): HeldRequest {
    this.prune();
    const h = this.held.get(approvalId);
    if (!h) throw new HttpProxyError('PCL_ERR_APPROVAL_MISMATCH', `approval ${approvalId} is unknown here, expired or already used; send the request without the Portcullis-Approval header to ask again`);
    const same = h.subject === identity.subject && h.issuer === identity.issuer && h.resource === resource && isDeepStrictEqual(judgedParts(h.command), judgedParts(command));
    if (!same) throw new HttpProxyError('PCL_ERR_APPROVAL_MISMATCH', `approval ${approvalId} was given for a different request or caller; only the identical request (method, path, query, the headers policies see, body) may be replayed`);
    return h;
  }

  consume(approvalId: string): void {
    this.held.delete(approvalId);
  }

  private prune(): void {
    const cutoff = Date.now() - this.ttlMs;
    for (const [id, h] of this.held) if (h.at < cutoff || this.held.size > this.max) this.held.delete(id);
  }
}
