import { PortcullisError } from '../errors.ts';
import { intSetting } from '../config.ts';

/**
 * Each service's admin port (health, readiness, metrics), separate from its
 * data port so probes and scrapes never share a listener with callers, and
 * bound to loopback unless PORTCULLIS_ADMIN_HOST says otherwise. One port per
 * process: these defaults let every service of `npm start` run side by side.
 */
export const DEFAULT_ADMIN_PORTS = {
  'policy-decision': 9601,
  'proxy-postgres': 9602,
  'proxy-ssh': 9603,
  'proxy-http': 9604,
  approvals: 9605,
  'audit-projection': 9606,
  'replay-projection': 9607,
  console: 9608,
  mcp: 9609,
} as const;

export type AdminService = keyof typeof DEFAULT_ADMIN_PORTS;

export interface AdminSettings {
  host: string;
  /** 0: an ephemeral port (tests). */
  port: number;
}

/** PORTCULLIS_ADMIN_PORT (default: the service's port above), PORTCULLIS_ADMIN_HOST (default 127.0.0.1). */
export function adminSettingsFromEnv(service: AdminService, env: NodeJS.ProcessEnv = process.env): AdminSettings {
  const host = env.PORTCULLIS_ADMIN_HOST || '127.0.0.1';
  const port = intSetting(env, 'PORTCULLIS_ADMIN_PORT', DEFAULT_ADMIN_PORTS[service]);
  if (port > 65_535) throw new PortcullisError('PCL_ERR_CONFIG', `PORTCULLIS_ADMIN_PORT must be a TCP port, got ${port}`);
  return { host, port };
}
