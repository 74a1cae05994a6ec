/**
 * The dev-login extension grant (RFC 6749 §4.5): a confidential dev client
 * trades a dev person's username for a real access token signed with the
 * provider's keys, so tests and the demo get human tokens without a browser.
 *
 *   POST /token
 *   Authorization: Basic <portcullis-dev-login:secret>
 *   grant_type=urn:portcullis:params:oauth:grant-type:dev-login&username=alice
 *   [&expires_in=2] [&resource=urn:portcullis]
 *
 * oidc-provider has no password grant on purpose; this grant is its
 * documented extension point (provider.registerGrantType) and exists only when
 * the provider runs with dev login enabled.
 */
/// <reference path="./oidc-provider.d.ts" />
import { errors, type OidcContext, type Provider } from 'oidc-provider';
import {
  DEV_LOGIN_CLIENT,
  DEV_LOGIN_DEFAULT_TTL_SECONDS,
  DEV_LOGIN_GRANT,
  DEV_LOGIN_MAX_TTL_SECONDS,
  PORTCULLIS_RESOURCE,
  findPerson,
} from './directory.ts';

export function registerDevLoginGrant(
  provider: Provider,
  resourceServerInfo: (resource: string) => Record<string, unknown>,
): void {
  async function devLogin(ctx: OidcContext): Promise<void> {
    const { client, params = {} } = ctx.oidc;
    // grant_types on the client already limit this grant to the dev-login client; say it twice.
    if (client?.clientId !== DEV_LOGIN_CLIENT) {
      throw new errors.InvalidRequest('the dev-login grant is only available to the dev-login client');
    }

    const username = params['username'];
    if (typeof username !== 'string' || username === '') {
      throw new errors.InvalidRequest('username is required');
    }
    const person = findPerson(username);
    if (!person) {
      throw new errors.InvalidRequest(`no dev person is named "${username.slice(0, 64)}"`);
    }

    const expiresIn = parseLifetime(params['expires_in']);

    const resource = params['resource'] ?? PORTCULLIS_RESOURCE;
    if (typeof resource !== 'string' || URL.parse(resource) === null || resource.includes('#')) {
      throw new errors.InvalidTarget('resource indicator must be an absolute URI without a fragment');
    }

    const token = new provider.AccessToken({
      client,
      accountId: person.username,
      gty: DEV_LOGIN_GRANT,
      expiresIn,
    });
    token.resourceServer = new provider.ResourceServer(resource, resourceServerInfo(resource));

    ctx.oidc.entity('AccessToken', token);
    const accessToken = await token.save();

    ctx.body = {
      access_token: accessToken,
      token_type: token.tokenType,
      expires_in: token.expiration,
    };
  }

  provider.registerGrantType(DEV_LOGIN_GRANT, devLogin, ['username', 'expires_in', 'resource']);
}

function parseLifetime(value: unknown): number {
  if (value === undefined) return DEV_LOGIN_DEFAULT_TTL_SECONDS;
  const seconds = typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > DEV_LOGIN_MAX_TTL_SECONDS) {
    throw new errors.InvalidRequest(`expires_in must be a whole number of seconds from 1 to ${DEV_LOGIN_MAX_TTL_SECONDS}`);
  }
  return seconds;
}
