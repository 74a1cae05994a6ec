// The web console's server.
export { buildConsoleApp, SESSION_COOKIE, LOGIN_COOKIE, CSRF_HEADER, type ConsoleDeps } from './app.ts';
export { startConsole, type ConsoleService } from './service.ts';
export { consoleConfigFromEnv, DEFAULT_CONSOLE_PORT, type ConsoleConfig } from './config.ts';
export { createOidcClient, type OidcClient, type OidcClientConfig } from './oidc-client.ts';
export { createSessionStore, type SessionStore, type ConsoleSession } from './sessions.ts';
export { safeReturnTo } from './return-to.ts';
export { upstreamUrl } from './proxy.ts';
export { WEB_DIST } from './paths.ts';
