import { intSetting } from '@portcullis/kit';
import { postgresUrl } from '@portcullis/infra';

/** Settings of the projection and query API processes (docs/projections.md#running). */
export function queryConfigFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return {
    pgUrl: env.PORTCULLIS_PG_URL || postgresUrl('portcullis'),
    apiPort: intSetting(env, 'PORTCULLIS_API_PORT', 8090),
    apiHost: env.PORTCULLIS_API_HOST || '127.0.0.1',
    oidcIssuer: env.PORTCULLIS_OIDC_ISSUER || 'http://127.0.0.1:9400',
    oidcAudience: env.PORTCULLIS_OIDC_AUDIENCE || 'portcullis',
    auditorGroup: env.PORTCULLIS_AUDITOR_GROUP || 'auditors',
    auditSchema: env.PORTCULLIS_AUDIT_SCHEMA || 'audit',
    replaySchema: env.PORTCULLIS_REPLAY_SCHEMA || 'replay',
  };
}
