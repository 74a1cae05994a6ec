/**
 * The development directory: the people and service accounts the local OpenID
 * provider knows. Names and groups only — secrets are generated per data dir
 * at first start (see provider-state.ts) and never live in the repo.
 */

/** The resource indicator (RFC 8707) that stands for Portcullis itself. */
export const PORTCULLIS_RESOURCE = 'urn:portcullis';
/** The `aud` of every access token issued for PORTCULLIS_RESOURCE. */
export const PORTCULLIS_AUDIENCE = 'portcullis';

/** Claim that says whether the caller is a person or a workload. */
export const KIND_CLAIM = 'portcullis_kind';

export interface DevPerson {
  username: string;
  name: string;
  email: string;
  groups: string[];
}

export interface DevServiceAccount {
  clientId: string;
  groups: string[];
  /** Access token lifetime; the default is 10 minutes. */
  accessTokenTtlSeconds?: number;
}

export const DEV_PEOPLE: readonly DevPerson[] = [
  { username: 'alice', name: 'Alice Anders', email: 'alice@example.test', groups: ['dba', 'approvers'] },
  { username: 'bob', name: 'Bob Brandt', email: 'bob@example.test', groups: ['developers'] },
  { username: 'carol', name: 'Carol Chen', email: 'carol@example.test', groups: ['auditors', 'approvers'] },
  { username: 'dave', name: 'Dave Duarte', email: 'dave@example.test', groups: ['dba', 'approvers'] },
  // Revokes identities and ends live sessions (docs/revocation.md).
  { username: 'erin', name: 'Erin Evans', email: 'erin@example.test', groups: ['admins', 'auditors'] },
];

/** Service account whose tokens live two seconds, for expiry tests. */
export const SHORT_LIVED_SERVICE_CLIENT = 'expiry-probe';

export const DEV_SERVICE_ACCOUNTS: readonly DevServiceAccount[] = [
  { clientId: 'ci-deploy', groups: ['ci'] },
  { clientId: 'llm-agent', groups: ['agents'] },
  { clientId: 'reporting-job', groups: ['analytics'] },
  { clientId: 'auditor-bot', groups: ['auditors'] },
  { clientId: SHORT_LIVED_SERVICE_CLIENT, groups: ['ci'], accessTokenTtlSeconds: 2 },
];

/**
 * Extension grant (RFC 6749 §4.5) that turns a dev username into a real signed
 * access token without a browser. Only the dev-login client may use it, and
 * only when the provider runs with dev login enabled.
 */
export const DEV_LOGIN_GRANT = 'urn:portcullis:params:oauth:grant-type:dev-login';
export const DEV_LOGIN_CLIENT = 'portcullis-dev-login';
/** Longest lifetime a dev-login token may ask for, in seconds. */
export const DEV_LOGIN_MAX_TTL_SECONDS = 3600;
export const DEV_LOGIN_DEFAULT_TTL_SECONDS = 900;

/**
 * The web console (services/console) logs people in with the authorization
 * code flow and PKCE. It is a native-type public client: its redirect URI is
 * on loopback, and RFC 8252 §7.3 lets the port vary, so a console on any local
 * port (npm start's 8093, a test's free port) is accepted at /auth/callback.
 */
export const CONSOLE_CLIENT = 'portcullis-console';
export const CONSOLE_REDIRECT_URIS: readonly string[] = ['http://127.0.0.1/auth/callback', 'http://localhost/auth/callback'];

/**
 * The `portcullis` command (services/cli) logs people in as a public native
 * client: authorization code + PKCE with a loopback redirect on any port
 * (RFC 8252 §7.3), or the device authorization grant (RFC 8628) on machines
 * without a browser. It gets refresh tokens, so `portcullis connect`, `ssh`
 * and `kube credential` keep working after the access token expires.
 */
export const CLI_CLIENT = 'portcullis-cli';
export const CLI_REDIRECT_URIS: readonly string[] = ['http://127.0.0.1/callback', 'http://[::1]/callback'];
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
/** Clients of Portcullis itself: the login page grants them the person's claims without a consent screen. */
export const FIRST_PARTY_CLIENTS: readonly string[] = [CONSOLE_CLIENT, CLI_CLIENT];

export function findPerson(username: string): DevPerson | undefined {
  return DEV_PEOPLE.find((p) => p.username === username);
}

export function findServiceAccount(clientId: string): DevServiceAccount | undefined {
  return DEV_SERVICE_ACCOUNTS.find((s) => s.clientId === clientId);
}
