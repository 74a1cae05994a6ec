import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { z } from 'zod';
import { Identity } from '@portcullis/schemas';
import { fingerprintOf } from './host-key.ts';

const StoredKey = z.object({
  fingerprint: z.string(),
  /** `<type> <base64>` without the comment. */
  publicKey: z.string(),
  comment: z.string().optional(),
  /** The identity the OIDC token proved when the key was registered. */
  identity: Identity,
  addedAt: z.string(),
  expiresAt: z.string(),
});
export type StoredKey = z.infer<typeof StoredKey>;

/**
 * Public keys registered by identities (POST /keys), in one JSON file in the
 * data dir: small, no extra service, rewritten atomically (write + rename).
 * A key stands for the identity that registered it until it expires; the
 * identity's groups are those of the token used at registration.
 */
export class KeyStore {
  private keys: StoredKey[] = [];
  private readonly path: string;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.path = join(dataDir, 'registered-keys.json');
    if (existsSync(this.path)) this.keys = z.array(StoredKey).parse(JSON.parse(readFileSync(this.path, 'utf8')));
  }

  /** Parses an OpenSSH public key line; throws a message fit for the caller. */
  static parsePublicKey(line: string): { blob: Buffer; publicKey: string; comment?: string; fingerprint: string } {
    const trimmed = line.trim();
    if (trimmed.includes('PRIVATE KEY')) throw new Error('that is a private key; send the public key (the .pub file)');
    const parsed = ssh2.utils.parseKey(trimmed);
    if (parsed instanceof Error || Array.isArray(parsed) || parsed.isPrivateKey()) throw new Error('not an OpenSSH public key ("ssh-ed25519 AAAA… comment")');
    const blob = parsed.getPublicSSH();
    const comment = trimmed.split(/\s+/).slice(2).join(' ');
    return { blob, publicKey: `${parsed.type} ${blob.toString('base64')}`, ...(comment ? { comment: comment.slice(0, 200) } : {}), fingerprint: fingerprintOf(blob) };
  }

  add(line: string, identity: Identity, ttlSeconds: number, now = new Date()): StoredKey {
    const key = KeyStore.parsePublicKey(line);
    const entry: StoredKey = {
      fingerprint: key.fingerprint,
      publicKey: key.publicKey,
      ...(key.comment ? { comment: key.comment } : {}),
      identity,
      addedAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
    };
    const other = this.keys.find((k) => k.fingerprint === key.fingerprint && k.identity.subject !== identity.subject);
    if (other) throw new Error('this key is registered to another identity');
    this.keys = [...this.keys.filter((k) => k.fingerprint !== key.fingerprint), entry];
    this.save();
    return entry;
  }

  list(subject: string): StoredKey[] {
    return this.keys.filter((k) => k.identity.subject === subject);
  }

  remove(subject: string, fingerprint: string): boolean {
    const before = this.keys.length;
    this.keys = this.keys.filter((k) => !(k.identity.subject === subject && k.fingerprint === fingerprint));
    if (this.keys.length === before) return false;
    this.save();
    return true;
  }

  /** The unexpired registration of this public key blob, if any. */
  find(blob: Buffer, now = new Date()): StoredKey | undefined {
    const fingerprint = fingerprintOf(blob);
    return this.keys.find((k) => k.fingerprint === fingerprint && new Date(k.expiresAt) > now);
  }

  private save(): void {
    writeFileSync(`${this.path}.tmp`, JSON.stringify(this.keys, null, 2), { mode: 0o600 });
    renameSync(`${this.path}.tmp`, this.path);
  }
}
