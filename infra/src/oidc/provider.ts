/**
 * The local OpenID provider's configuration: oidc-provider with
 *  - the client credentials grant for service accounts,
 *  - resource indicators (RFC 8707) so access tokens are JWTs (RFC 9068)
 *    with audience "portcullis",
 *  - Portcullis claims in every access token: groups and portcullis_kind,
 *  - optionally the dev-login grant for test people (dev-login-grant.ts) and
 *    the web console's browser login (authorization code + PKCE, login-page.ts),
 *  - the `portcullis` command's public client: authorization code + PKCE on a
 *    loopback redirect or the device authorization grant, with refresh tokens.
 */
/// <reference path="./oidc-provider.d.ts" />
import Provider, { type OidcToken } from 'oidc-provider';
import {
  CLI_CLIENT,
  CLI_REDIRECT_URIS,
  CONSOLE_CLIENT,
  DEVICE_CODE_GRANT,
  CONSOLE_REDIRECT_URIS,
  DEV_LOGIN_CLIENT,
  DEV_LOGIN_GRANT,
  DEV_SERVICE_ACCOUNTS,
  KIND_CLAIM,
  PORTCULLIS_AUDIENCE,
  PORTCULLIS_RESOURCE,
  findPerson,
  findServiceAccount,
} from './directory.ts';
import { registerDevLoginGrant } from './dev-login-grant.ts';
import type { ProviderState } from './provider-state.ts';

export interface OidcProviderOptions {
  issuer: string;
  state: ProviderState;
  /** Enables the dev-login grant for test people. Never on outside development. */
  devLogin: boolean;
  /** Lifetime of access tokens from browser and device logins and refreshes; default 3600 s. Tests shorten it. */
  accessTokenTtlSeconds?: number;
  /** Lifetime of the CLI's refresh tokens; default 14 days. Tests shorten it to see `portcullis login` asked again. */
  refreshTokenTtlSeconds?: number;
}

const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 3600;
const DEFAULT_REFRESH_TOKEN_TTL_SECONDS = 14 * 24 * 3600;

const DEFAULT_SERVICE_TOKEN_TTL_SECONDS = 600;

export function createOidcProvider({ issuer, state, devLogin, accessTokenTtlSeconds, refreshTokenTtlSeconds }: OidcProviderOptions): Provider {
  const secretOf = (clientId: string): string => {
    const secret = state.clients.find((c) => c.clientId === clientId)?.clientSecret;
    if (!secret) throw new Error(`OIDC provider state has no secret for client ${clientId}`);
    return secret;
  };

  const clients: Record<string, unknown>[] = DEV_SERVICE_ACCOUNTS.map((account) => ({
    client_id: account.clientId,
    client_secret: secretOf(account.clientId),
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }));
  if (devLogin) {
    clients.push({
      client_id: DEV_LOGIN_CLIENT,
      client_secret: secretOf(DEV_LOGIN_CLIENT),
      grant_types: [DEV_LOGIN_GRANT],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    });
    // A public client: PKCE is required for it (oidc-provider's default for auth method "none").
    clients.push({
      client_id: CONSOLE_CLIENT,
      application_type: 'native',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [...CONSOLE_REDIRECT_URIS],
      token_endpoint_auth_method: 'none',
    });
    // Also public: a secret shipped with a command-line tool is no secret. PKCE binds the code to the login.
    clients.push({
      client_id: CLI_CLIENT,
      application_type: 'native',
      grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT],
      response_types: ['code'],
      redirect_uris: [...CLI_REDIRECT_URIS],
      token_endpoint_auth_method: 'none',
    });
  }

  const resourceServerInfo = (resource: string): Record<string, unknown> => ({
    // Audiences are plain names at most IdPs ("portcullis"), while RFC 8707 needs a URI.
    // Any other absolute URI is its own audience: handy for wrong-audience tests.
    audience: resource === PORTCULLIS_RESOURCE ? PORTCULLIS_AUDIENCE : resource,
    scope: '',
    accessTokenFormat: 'jwt',
  });

  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: state.signingKeys },
    cookies: { keys: state.cookieKeys },
    scopes: ['openid', 'profile', 'email', 'groups'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    async findAccount(_ctx: unknown, accountId: string) {
      const person = findPerson(accountId);
      if (!person) return undefined;
      return {
        accountId: person.username,
        async claims() {
          return {
            sub: person.username,
            name: person.name,
            preferred_username: person.username,
            email: person.email,
            email_verified: true,
            groups: person.groups,
          };
        },
      };
    },
    features: {
      clientCredentials: { enabled: true },
      // oidc-provider's development pages accept any name; login-page.ts asks a password instead.
      devInteractions: { enabled: false },
      // RFC 8628 for headless machines: the person enters the code at /device in any browser.
      deviceFlow: { enabled: devLogin },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => PORTCULLIS_RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, resource: string) => resourceServerInfo(resource),
      },
    },
    // The CLI keeps its login across restarts of the person's session at the provider: refresh
    // tokens for it do not need offline_access and do not end with the browser session.
    async issueRefreshToken(_ctx: unknown, client: { clientId: string; grantTypeAllowed(grant: string): boolean }) {
      return client.clientId === CLI_CLIENT && client.grantTypeAllowed('refresh_token');
    },
    async expiresWithSession(ctx: { oidc: { client?: { clientId: string } } }) {
      return ctx.oidc.client?.clientId !== CLI_CLIENT;
    },
    ttl: {
      AccessToken() {
        return accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS;
      },
      RefreshToken() {
        return refreshTokenTtlSeconds ?? DEFAULT_REFRESH_TOKEN_TTL_SECONDS;
      },
      DeviceCode() {
        return 600;
      },
      ClientCredentials(_ctx: unknown, token: OidcToken) {
        return findServiceAccount(token.clientId ?? '')?.accessTokenTtlSeconds ?? DEFAULT_SERVICE_TOKEN_TTL_SECONDS;
      },
    },
    async extraTokenClaims(_ctx: unknown, token: OidcToken) {
      if (token.kind === 'ClientCredentials') {
        const account = findServiceAccount(token.clientId ?? '');
        return { groups: account?.groups ?? [], [KIND_CLAIM]: 'service' };
      }
      if (token.kind === 'AccessToken' && token.accountId) {
        const person = findPerson(token.accountId);
        if (!person) return undefined;
        return {
          name: person.name,
          preferred_username: person.username,
          email: person.email,
          groups: person.groups,
          [KIND_CLAIM]: 'human',
        };
      }
      return undefined;
    },
  });

  if (devLogin) registerDevLoginGrant(provider, resourceServerInfo);
  return provider;
}
