/** A dev person's browser login password, for `portcullis dev password NAME` and browser tests. */
import { dataDirFor } from './known-providers.ts';
import { readPersonPassword } from './provider-state.ts';

export async function devPassword(issuer: string, username: string, dataDir = dataDirFor(issuer)): Promise<string> {
  const password = await readPersonPassword(dataDir, username);
  if (password === undefined) throw new Error(`no password for "${username}" in ${dataDir}; is the OIDC provider for ${issuer} started from that data dir?`);
  return password;
}
