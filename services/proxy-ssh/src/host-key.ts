import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';

/**
 * The proxy's own host key: generated at first start (Ed25519, OpenSSH
 * format) and kept in the data dir, so callers' known_hosts stay valid
 * across restarts.
 */
export function loadOrCreateHostKey(dataDir: string): { privateKey: string; fingerprint: string } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, 'ssh_host_ed25519_key');
  if (!existsSync(path)) {
    const pair = generateParsableKeyPair();
    writeFileSync(`${path}.tmp`, pair.private, { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
    writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
  }
  chmodSync(path, 0o600);
  const privateKey = readFileSync(path, 'utf8');
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new Error(`host key ${path} cannot be read: ${parsed.message}`);
  return { privateKey, fingerprint: fingerprintOf(parsed.getPublicSSH()) };
}

/**
 * ssh2 generates, about once in 400 Ed25519 keys, a private key its own parser
 * refuses ("Malformed OpenSSH private key"); such a key would stop the proxy at
 * every start. Generate again until the key reads back.
 */
function generateParsableKeyPair(): { private: string; public: string } {
  for (let attempt = 1; ; attempt++) {
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    if (!(ssh2.utils.parseKey(pair.private) instanceof Error) || attempt >= 10) return pair;
  }
}

/** OpenSSH's SHA256 fingerprint of a public key blob (what `ssh-keygen -lf` prints). */
export function fingerprintOf(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}
