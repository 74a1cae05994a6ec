import type { Identity } from '@portcullis/schemas';
import type { IdentityVerifier } from '../../src/ports.ts';

/** Accepts `test-token:<subject>`; anything else is rejected the way the real verifier rejects a bad JWT. */
export class TestVerifier implements IdentityVerifier {
  readonly seen: string[] = [];
  async verify(token: string): Promise<Identity> {
    this.seen.push(token);
    const m = /^test-token:([a-z0-9-]+)$/.exec(token);
    if (!m) throw new Error('token signature is invalid');
    return { subject: m[1]!, issuer: 'https://issuer.test', kind: 'human', groups: ['engineers'] };
  }
}

export const tokenFor = (subject: string): string => `test-token:${subject}`;
