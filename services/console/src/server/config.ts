/**
 * The console's settings from the environment.
 *   PORTCULLIS_CONSOLE_PORT           listen port (default 8093)
 *   PORTCULLIS_CONSOLE_HOST           listen address (default 127.0.0.1)
 *   PORTCULLIS_CONSOLE_PUBLIC_URL     the console as browsers reach it (default http://127.0.0.1:<port>); https → Secure cookies
 *   PORTCULLIS_OIDC_ISSUER            the identity provider (default http://127.0.0.1:9400, the local one)
 *   PORTCULLIS_OIDC_AUDIENCE          the access token audience the APIs expect (default portcullis)
 *   PORTCULLIS_CONSOLE_CLIENT_ID      the console's OIDC client (default portcullis-console)
 *   PORTCULLIS_CONSOLE_CLIENT_SECRET  for a confidential client; omit for a public client (PKCE)
 *   PORTCULLIS_CONSOLE_RESOURCE       RFC 8707 resource indicator (default urn:portcullis; empty: none)
 *   PORTCULLIS_APPROVALS_URL          approvals service (default http://127.0.0.1:8091)
 *   PORTCULLIS_API_URL                query API (default http://127.0.0.1:8090)
 *   PORTCULLIS_AUDITOR_GROUP          who reads the audit (default auditors)
 *   PORTCULLIS_CONSOLE_POLICY_GROUPS  comma-separated groups that read the policy (default auditors,approvers)
 */
import { intSetting } from '@portcullis/kit';

export const DEFAULT_CONSOLE_PORT = 8093;

export function consoleConfigFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const port = intSetting(env, 'PORTCULLIS_CONSOLE_PORT', DEFAULT_CONSOLE_PORT);
  const host = env.PORTCULLIS_CONSOLE_HOST || '127.0.0.1';
  const publicUrl = (env.PORTCULLIS_CONSOLE_PUBLIC_URL || `http://${host}:${port}`).replace(/\/$/, '');
  const auditorGroup = env.PORTCULLIS_AUDITOR_GROUP || 'auditors';
  return {
    port,
    host,
    publicUrl,
    issuer: env.PORTCULLIS_OIDC_ISSUER || 'http://127.0.0.1:9400',
    audience: env.PORTCULLIS_OIDC_AUDIENCE || 'portcullis',
    clientId: env.PORTCULLIS_CONSOLE_CLIENT_ID || 'portcullis-console',
    clientSecret: env.PORTCULLIS_CONSOLE_CLIENT_SECRET || undefined,
    resource: env.PORTCULLIS_CONSOLE_RESOURCE ?? 'urn:portcullis',
    approvalsUrl: env.PORTCULLIS_APPROVALS_URL || 'http://127.0.0.1:8091',
    queryUrl: env.PORTCULLIS_API_URL || 'http://127.0.0.1:8090',
    auditorGroup,
    adminGroup: env.PORTCULLIS_ADMIN_GROUP || 'admins',
    policyGroups: (env.PORTCULLIS_CONSOLE_POLICY_GROUPS || `${auditorGroup},approvers`).split(',').map((g) => g.trim()).filter(Boolean),
  };
}

export type ConsoleConfig = ReturnType<typeof consoleConfigFromEnv>;
