import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import type { Logger } from '../logger.ts';
import { readinessReport, runChecks, type ReadinessCheck } from './readiness.ts';
import type { AdminSettings } from './settings.ts';
import { gatewayMetrics } from './metrics.ts';

export interface AdminServerOptions extends AdminSettings {
  service: string;
  checks: readonly ReadinessCheck[];
  logger: Logger;
  /** Registries served at /metrics besides this process's gateway metrics (a projection's own). */
  registries?: readonly Registry[];
  /** Per check, default 2000 ms: a probe answers in bounded time even when a dependency hangs. */
  checkTimeoutMs?: number;
}

export interface AdminServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * The admin listener every service runs (kit's one implementation):
 *   GET /healthz  200 while the process serves requests (liveness)
 *   GET /readyz   200 when every readiness check passes, else 503; the body lists each check
 *   GET /metrics  Prometheus text: the process's portcullis_* metrics
 * Plain node:http: it must stay up and cheap when the service's own server is busy.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { service, checks, logger } = options;
  const timeoutMs = options.checkTimeoutMs ?? 2000;
  const registries = [gatewayMetrics().registry, ...(options.registries ?? [])];
  const startedAt = Date.now();

  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'only GET' });
    if (path === '/healthz') return json(res, 200, { status: 'ok', service, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
    if (path === '/readyz') {
      const report = readinessReport(await runChecks(checks, timeoutMs));
      if (!report.ready) logger.debug({ checks: report.checks.filter((c) => !c.ok) }, 'not ready');
      return json(res, report.ready ? 200 : 503, { service, ...report });
    }
    if (path === '/metrics') {
      const merged = registries.length === 1 ? registries[0]! : Registry.merge([...registries]);
      res.writeHead(200, { 'content-type': merged.contentType });
      res.end(await merged.metrics());
      return;
    }
    json(res, 404, { error: 'not found', paths: ['/healthz', '/readyz', '/metrics'] });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: err instanceof Error ? err.message : String(err) }, 'admin request failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  logger.info({ host: options.host, port }, 'admin server listening (/healthz, /readyz, /metrics)');
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
