/** The local OpenID provider for development and tests: process control and token helpers. */
export {
  startOidcProvider,
  stopOidcProvider,
  oidcProviderStatus,
  OIDC_LOG_FILE,
  type StartOidcProviderOptions,
  type OidcProviderHandle,
  type OidcProviderStatus,
} from './process.ts';
export {
  issueServiceToken,
  issueHumanToken,
  issueShortLivedServiceToken,
  TokenRequestError,
  type TokenRequestOptions,
  type HumanTokenOptions,
} from './tokens.ts';
export {
  DEV_PEOPLE,
  DEV_SERVICE_ACCOUNTS,
  DEV_LOGIN_GRANT,
  DEV_LOGIN_CLIENT,
  CONSOLE_CLIENT,
  CLI_CLIENT,
  DEVICE_CODE_GRANT,
  KIND_CLAIM,
  PORTCULLIS_AUDIENCE,
  PORTCULLIS_RESOURCE,
  SHORT_LIVED_SERVICE_CLIENT,
  type DevPerson,
  type DevServiceAccount,
} from './directory.ts';
export { devPassword } from './dev-password.ts';
export { DEFAULT_OIDC_DATA_DIR, DEFAULT_OIDC_PORT, issuerFor } from './locations.ts';
