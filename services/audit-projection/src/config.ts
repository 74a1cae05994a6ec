import { intSetting, PortcullisError } from '@portcullis/kit';

/** Settings of the projection and query API processes (docs/projections.md#processes). */
export function queryConfigFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const pgUrl = env.PORTCULLIS_PG_URL;
  if (!pgUrl) {
    throw new PortcullisError('PCL_ERR_CONFIG', 'PORTCULLIS_PG_URL is not set: the projections need the PostgreSQL database of their views (npm start sets it for the local stack)');
  }
  return {
    pgUrl,
    apiPort: intSetting(env, 'PORTCULLIS_API_PORT', 8090),
    apiHost: env.PORTCULLIS_API_HOST || '127.0.0.1',
    oidcIssuer: env.PORTCULLIS_OIDC_ISSUER || 'http://127.0.0.1:9400',
    oidcAudience: env.PORTCULLIS_OIDC_AUDIENCE || 'portcullis',
    auditorGroup: env.PORTCULLIS_AUDITOR_GROUP || 'auditors',
    adminGroup: env.PORTCULLIS_ADMIN_GROUP || 'admins',
    auditSchema: env.PORTCULLIS_AUDIT_SCHEMA || 'audit',
    replaySchema: env.PORTCULLIS_REPLAY_SCHEMA || 'replay',
  };
}
