/**
 * Runs the local OpenID provider as its own process, on loopback only.
 *
 *   node --import tsx infra/src/oidc/server.ts [--port 9400] [--data-dir DIR] [--no-dev-login]
 *        [--access-token-ttl SECONDS] [--refresh-token-ttl SECONDS]
 *
 * Environment equivalents: PORTCULLIS_OIDC_PORT, PORTCULLIS_OIDC_DATA_DIR,
 * PORTCULLIS_OIDC_DEV_LOGIN=0. The lifetimes apply to browser and device
 * logins and refreshes (tests shorten them to see tokens expire). Normally started by process.ts (npm run infra:up).
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { createOidcProvider } from './provider.ts';
import { loginPageHandler } from './login-page.ts';
import { loadOrCreateProviderState } from './provider-state.ts';
import { DEFAULT_OIDC_DATA_DIR, DEFAULT_OIDC_PORT, OIDC_HOST, issuerFor } from './locations.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'data-dir': { type: 'string' },
    'no-dev-login': { type: 'boolean', default: false },
    'access-token-ttl': { type: 'string' },
    'refresh-token-ttl': { type: 'string' },
  },
});

const port = Number(values.port ?? process.env['PORTCULLIS_OIDC_PORT'] ?? DEFAULT_OIDC_PORT);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`oidc-provider: port must be a number from 1 to 65535, got "${values.port ?? process.env['PORTCULLIS_OIDC_PORT']}"`);
  process.exit(2);
}
const dataDir = values['data-dir'] ?? process.env['PORTCULLIS_OIDC_DATA_DIR'] ?? DEFAULT_OIDC_DATA_DIR;
const devLogin = !values['no-dev-login'] && process.env['PORTCULLIS_OIDC_DEV_LOGIN'] !== '0';

const seconds = (name: 'access-token-ttl' | 'refresh-token-ttl'): number | undefined => {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`oidc-provider: --${name} must be a whole number of seconds, got "${raw}"`);
    process.exit(2);
  }
  return n;
};

const issuer = issuerFor(port);
const state = await loadOrCreateProviderState(dataDir);
const provider = createOidcProvider({ issuer, state, devLogin, accessTokenTtlSeconds: seconds('access-token-ttl'), refreshTokenTtlSeconds: seconds('refresh-token-ttl') });

// Errors are logged by name and message only: request bodies carry secrets.
provider.on('server_error', (_ctx, err) => {
  console.error(`oidc-provider: server error: ${(err as Error).name}: ${(err as Error).message}`);
});
provider.on('grant.error', (_ctx, err) => {
  const { message, error_description: why } = err as Error & { error_description?: string };
  console.error(`oidc-provider: token request refused: ${message}${why ? ` (${why})` : ''}`);
});

const providerCallback = provider.callback();
const loginPage = devLogin ? loginPageHandler(provider, state.people) : undefined;
const server = createServer((req, res) => {
  if (!loginPage) return providerCallback(req, res);
  loginPage(req, res).then(
    (handled) => void (handled || providerCallback(req, res)),
    () => {
      res.statusCode = 500;
      res.end();
    },
  );
});
server.on('error', (err: NodeJS.ErrnoException) => {
  console.error(
    err.code === 'EADDRINUSE'
      ? `oidc-provider: ${OIDC_HOST}:${port} is already in use; pick another port`
      : `oidc-provider: cannot listen on ${OIDC_HOST}:${port}: ${err.message}`,
  );
  process.exit(1);
});
server.listen(port, OIDC_HOST, () => {
  console.log(`oidc-provider: issuer ${issuer} ready (dev login ${devLogin ? 'on' : 'off'})`);
});

function shutdown(signal: string): void {
  console.log(`oidc-provider: ${signal}, stopping`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
