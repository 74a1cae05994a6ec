/**
 * What the local OpenID provider keeps in its data dir (infra/.data/oidc by
 * default, gitignored): signing keys, client secrets and cookie keys, all
 * generated at first start and readable by the owner only.
 *
 *   jwks.json         private signing keys (RS256 + ES256)
 *   clients.json      client ids and secrets
 *   cookie-keys.json  keys oidc-provider signs its cookies with
 *   people.json       the dev people's login passwords (the browser login page)
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { DEV_LOGIN_CLIENT, DEV_PEOPLE, DEV_SERVICE_ACCOUNTS } from './directory.ts';

export interface ClientCredential {
  clientId: string;
  clientSecret: string;
}

export interface PersonCredential {
  username: string;
  password: string;
}

export interface ProviderState {
  /** Private JWKs; the provider publishes only their public halves. */
  signingKeys: JWK[];
  clients: ClientCredential[];
  cookieKeys: string[];
  /** Passwords of the dev people, for the browser login page. */
  people: PersonCredential[];
}

const SIGNING_ALGORITHMS = ['RS256', 'ES256'] as const;

export const STATE_FILES = {
  jwks: 'jwks.json',
  clients: 'clients.json',
  cookieKeys: 'cookie-keys.json',
  people: 'people.json',
} as const;

/** Loads the provider's state from dataDir, creating whatever is missing. */
export async function loadOrCreateProviderState(dataDir: string): Promise<ProviderState> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const signingKeys = await loadOrCreate(join(dataDir, STATE_FILES.jwks), generateSigningKeys, (v: { keys: JWK[] }) => v.keys, (keys) => ({ keys }));

  const clientFile = join(dataDir, STATE_FILES.clients);
  let clients = await readJson<{ clients: ClientCredential[] }>(clientFile).then((v) => v?.clients ?? []);
  // New dev clients may appear in the directory later; keep the secrets already handed out.
  const wanted = [...DEV_SERVICE_ACCOUNTS.map((s) => s.clientId), DEV_LOGIN_CLIENT];
  const missing = wanted.filter((id) => !clients.some((c) => c.clientId === id));
  if (missing.length > 0) {
    clients = [...clients, ...missing.map((clientId) => ({ clientId, clientSecret: randomSecret() }))];
    await writePrivateJson(clientFile, { clients });
  }

  const cookieKeys = await loadOrCreate(
    join(dataDir, STATE_FILES.cookieKeys),
    async () => [randomSecret(), randomSecret()],
    (v: { keys: string[] }) => v.keys,
    (keys) => ({ keys }),
  );

  const peopleFile = join(dataDir, STATE_FILES.people);
  let people = await readJson<{ people: PersonCredential[] }>(peopleFile).then((v) => v?.people ?? []);
  const unset = DEV_PEOPLE.filter((p) => !people.some((c) => c.username === p.username));
  if (unset.length > 0) {
    people = [...people, ...unset.map(({ username }) => ({ username, password: randomSecret().slice(0, 16) }))];
    await writePrivateJson(peopleFile, { people });
  }

  return { signingKeys, clients, cookieKeys, people };
}

/** A dev person's login password, read from the data dir; `portcullis dev password NAME` prints it. */
export async function readPersonPassword(dataDir: string, username: string): Promise<string | undefined> {
  const file = await readJson<{ people: PersonCredential[] }>(join(dataDir, STATE_FILES.people));
  return file?.people.find((p) => p.username === username)?.password;
}

/** The secret of one client, read from the data dir; used by the token helpers. */
export async function readClientSecret(dataDir: string, clientId: string): Promise<string | undefined> {
  const file = await readJson<{ clients: ClientCredential[] }>(join(dataDir, STATE_FILES.clients));
  return file?.clients.find((c) => c.clientId === clientId)?.clientSecret;
}

async function generateSigningKeys(): Promise<JWK[]> {
  const keys: JWK[] = [];
  for (const alg of SIGNING_ALGORITHMS) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = await exportJWK(privateKey);
    // The kid is the RFC 7638 thumbprint, so it is stable and says nothing secret.
    jwk.kid = await calculateJwkThumbprint(jwk);
    jwk.alg = alg;
    jwk.use = 'sig';
    keys.push(jwk);
  }
  return keys;
}

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

async function loadOrCreate<T, F>(file: string, create: () => Promise<T>, fromFile: (v: F) => T, toFile: (v: T) => F): Promise<T> {
  const existing = await readJson<F>(file);
  if (existing !== undefined) return fromFile(existing);
  const value = await create();
  await writePrivateJson(file, toFile(value));
  return value;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // Never include the content: these files hold secrets.
    throw new Error(`OIDC provider state file ${file} is not valid JSON; delete the data dir to regenerate it`);
  }
}

async function writePrivateJson(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}
