import type { Identity } from '@portcullis/schemas';
import type { IdentityVerifier } from '../../src/ports.ts';

/** Accepts `test-token:<subject>`; anything else is rejected the way the real verifier rejects a bad JWT. */
export class TestVerifier implements IdentityVerifier {
  readonly seen: string[] = [];
  async verifyToken(token: string): Promise<{ identity: Identity; expiresAt: string }> {
    this.seen.push(token);
    const m = /^test-token:([a-z0-9-]+)$/.exec(token);
    if (!m) throw new Error('token signature is invalid');
    return { identity: { subject: m[1]!, issuer: 'https://issuer.test', kind: 'human', groups: ['engineers'] }, expiresAt: new Date(Date.now() + 3600_000).toISOString() };
  }
}

export const tokenFor = (subject: string): string => `test-token:${subject}`;
