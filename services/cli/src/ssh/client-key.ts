/**
 * The SSH key `portcullis ssh` logs in to the gateway with: an Ed25519 pair
 * made by ssh-keygen in <config dir>/ssh (0700; the private key 0600), used
 * for nothing else. The gateway accepts it only while the key is registered
 * for the caller's identity, which the ProxyCommand renews with the current
 * token at every connection (ssh/register-key.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisError } from '@portcullis/kit';
import { configDir } from '../auth/settings.ts';

export const sshKeyPath = (env: NodeJS.ProcessEnv = process.env): string => join(configDir(env), 'ssh', 'id_ed25519');

/** The public key line, when the pair was made. */
export function existingSshPublicKey(env: NodeJS.ProcessEnv = process.env): string | undefined {
  try {
    return readFileSync(`${sshKeyPath(env)}.pub`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The key pair's private key path, generating the pair on first use; and its public key line. */
export function ensureSshKey(env: NodeJS.ProcessEnv = process.env): { privateKeyPath: string; publicKey: string } {
  const privateKeyPath = sshKeyPath(env);
  if (!existsSync(privateKeyPath)) {
    mkdirSync(join(configDir(env), 'ssh'), { recursive: true, mode: 0o700 });
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'portcullis-cli', '-f', privateKeyPath], { stdio: 'ignore' });
    } catch (err) {
      throw new PortcullisError('PCL_ERR_CONFIG', `cannot make an SSH key with ssh-keygen: ${(err as Error).message}`);
    }
  }
  return { privateKeyPath, publicKey: readFileSync(`${privateKeyPath}.pub`, 'utf8').trim() };
}
