/**
 * Where the `portcullis` command keeps its logins and which issuer it logs in
 * to. Environment:
 *
 *   PORTCULLIS_ISSUER            the OpenID provider (else the one `portcullis login --issuer` last used,
 *                                else PORTCULLIS_OIDC_ISSUER, else the local provider http://127.0.0.1:9400)
 *   PORTCULLIS_CLI_CLIENT_ID     the public client the CLI logs in as (default portcullis-cli)
 *   PORTCULLIS_OIDC_RESOURCE     RFC 8707 resource indicator sent with logins (default urn:portcullis; empty: none)
 *   PORTCULLIS_CLI_CONFIG_DIR    where logins are cached (default $XDG_CONFIG_HOME/portcullis, ~/.config/portcullis)
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

export const LOCAL_ISSUER = 'http://127.0.0.1:9400';
export const DEFAULT_CLI_CLIENT = 'portcullis-cli';
export const DEFAULT_RESOURCE = 'urn:portcullis';

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PORTCULLIS_CLI_CONFIG_DIR) return env.PORTCULLIS_CLI_CONFIG_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'portcullis');
}

/** The file naming the issuer of the last `portcullis login`. */
export const currentIssuerFile = (env: NodeJS.ProcessEnv = process.env): string => join(configDir(env), 'issuer');

export function resolveIssuer(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fromFile = (): string | undefined => {
    try {
      return readFileSync(currentIssuerFile(env), 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
  return (explicit || env.PORTCULLIS_ISSUER || fromFile() || env.PORTCULLIS_OIDC_ISSUER || LOCAL_ISSUER).replace(/\/$/, '');
}

export const cliClientId = (env: NodeJS.ProcessEnv = process.env): string => env.PORTCULLIS_CLI_CLIENT_ID || DEFAULT_CLI_CLIENT;
export const loginResource = (env: NodeJS.ProcessEnv = process.env): string | undefined =>
  (env.PORTCULLIS_OIDC_RESOURCE ?? DEFAULT_RESOURCE) || undefined;
