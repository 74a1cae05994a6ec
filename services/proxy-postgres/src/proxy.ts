import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { pino, type Logger } from 'pino';
import { gatewayMetrics } from '@portcullis/kit';
import { TargetCatalog } from './catalog.ts';
import { CancelRegistry } from './cancel-registry.ts';
import type { PostgresResource, ProxyConfig } from './config.ts';
import type { AccessGuard } from '@portcullis/kit';
import type { CommandGate, IdentityVerifier, SessionEventSink } from './ports.ts';
import { loadMaskingLibrary, type MaskingLibrary } from './result-masking.ts';
import { PostgresSession } from './session.ts';
import { generateSelfSignedCertificate, serverSecureContext } from './tls.ts';

export interface PostgresProxyDeps {
  config: ProxyConfig;
  gate: CommandGate;
  sink: SessionEventSink;
  verifier: IdentityVerifier;
  logger?: Logger;
  /** The masking library (default: src/masking, loaded at the first masked statement). */
  masking?: () => Promise<MaskingLibrary>;
  /**
   * Revocations, token lifetime, presence and drain (kit's access guard). The sink and verifier
   * given here must be the guard's (guardSink, guardVerifier). Without it, only the tests' in-memory engines.
   */
  guard?: AccessGuard;
}

export interface PostgresProxy {
  /** Starts accepting callers; port 0 picks a free port. Defaults come from config.listen. */
  listen(port?: number, host?: string): Promise<{ port: number }>;
  /** Stops accepting, ends every session (recording SessionClosed) and the catalog connections. */
  close(): Promise<void>;
  /**
   * SIGTERM: stops accepting, lets running statements finish within `graceMs`, then ends every
   * session with FATAL 57P01 and the reason (needs the guard).
   */
  drain(graceMs: number, reason: string): Promise<void>;
}

/**
 * The PostgreSQL engine: callers connect as to PostgreSQL with an OIDC token
 * as password; every statement becomes a CommandRequested judged before the
 * target sees it. See docs/protocols/postgres.md.
 */
export function createPostgresProxy(deps: PostgresProxyDeps): PostgresProxy {
  const logger = deps.logger ?? pino({ name: 'proxy-postgres' });
  const { config } = deps;
  const certificate = config.tls
    ? { cert: readFileSync(config.tls.cert, 'utf8'), key: readFileSync(config.tls.key, 'utf8') }
    : (logger.warn('no tls certificate configured: using a generated self-signed one (development only)'), generateSelfSignedCertificate());
  const secureContext = serverSecureContext(certificate);
  const cancels = new CancelRegistry();
  const catalogs = new Map<string, TargetCatalog>();
  const sessions = new Set<PostgresSession>();
  const sockets = new Set<Socket>();
  const catalogFor = (resource: PostgresResource): TargetCatalog => {
    let catalog = catalogs.get(resource.name);
    if (!catalog) {
      catalog = new TargetCatalog(resource, logger);
      catalogs.set(resource.name, catalog);
    }
    return catalog;
  };
  const engine = { config, gate: deps.gate, sink: deps.sink, verifier: deps.verifier, logger, secureContext, cancels, catalogFor, loadMasking: deps.masking ?? loadMaskingLibrary };

  const server: Server = createServer({ pauseOnConnect: false, noDelay: true }, (socket) => {
    gatewayMetrics().connections.inc({ protocol: 'postgres' });
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setKeepAlive(true, 30_000);
    const session = new PostgresSession(socket, engine);
    sessions.add(session);
    session
      .run()
      .catch((err: Error) => logger.error({ err: err.stack }, 'session crashed'))
      .finally(() => {
        const done = (): boolean => sessions.delete(session);
        if (socket.destroyed) done();
        else socket.once('close', done);
      });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'listener error'));
  const byId = (sessionId: string): PostgresSession | undefined => [...sessions].find((s) => s.sessionId === sessionId);
  deps.guard?.attach({
    terminate: (sessionId, reason) => byId(sessionId)?.terminate(reason),
    busy: (sessionId) => byId(sessionId)?.busy ?? false,
  });

  return {
    listen(port = config.listen.port, host = config.listen.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          logger.info({ host, port: address.port }, 'PostgreSQL proxy listening');
          resolve({ port: address.port });
        });
      });
    },
    async drain(graceMs, reason) {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.guard?.drain({ graceMs, reason });
      for (const session of sessions) session.terminate(reason);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 3000).unref())]);
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const session of sessions) void session.close('proxy shutting down');
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2000).unref();
      });
      await Promise.all([...catalogs.values()].map((c) => c.close()));
    },
  };
}
