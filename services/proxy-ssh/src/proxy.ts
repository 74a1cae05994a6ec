import { createServer, type AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import ssh2 from 'ssh2';
import type { SshProxyConfig } from './config.ts';
import { loadOrCreateHostKey } from './host-key.ts';
import { KeyStore } from './key-store.ts';
import { createKeysApi } from './keys-api.ts';
import type { AccessGuard } from '@portcullis/kit';
import type { CommandGate, IdentityVerifier, SessionEventSink } from './ports.ts';
import { gatewayMetrics } from '@portcullis/kit';
import { SshSession } from './session.ts';
import type { ExecTiming } from './exec-timing.ts';
import { tuneRelaySocket } from './relay-socket.ts';

export interface SshProxyDeps {
  config: SshProxyConfig;
  gate: CommandGate;
  sink: SessionEventSink;
  verifier: IdentityVerifier;
  /** Holds the proxy's host key and the registered public keys. */
  dataDir: string;
  logger?: Logger;
  /** Revocations, token lifetime, presence and drain (kit's access guard); the sink and verifier must be the guard's. */
  guard?: AccessGuard;
  /** Told where each exec's time went on the proxy's side (bench:ssh prints the medians). */
  onExecTimed?: (timing: ExecTiming) => void;
}

export interface SshProxy {
  /** Starts accepting SSH callers; port 0 picks a free port. */
  listen(port: number, host?: string): Promise<{ port: number }>;
  /** The public-key registration API (POST/GET/DELETE /keys). */
  keysApi: { listen(port: number, host?: string): Promise<{ port: number }> };
  /** The proxy's host key fingerprint, for callers' known_hosts. */
  hostKeyFingerprint: string;
  /** Stops accepting, ends every session (recording SessionClosed). */
  close(): Promise<void>;
  /** SIGTERM: stops accepting, lets running exec/sftp channels finish within `graceMs`, then ends every session with the reason on stderr. */
  drain(graceMs: number, reason: string): Promise<void>;
}

/**
 * The SSH engine: callers log in as `<target-user>@<resource>` with an OIDC
 * token or a registered key; every exec, interactive line, subsystem and
 * forward becomes a CommandRequested judged before the target sees it.
 * See docs/protocols/ssh.md.
 */
export function createSshProxy(deps: SshProxyDeps): SshProxy {
  const logger = deps.logger ?? pino({ name: 'proxy-ssh' });
  const hostKey = loadOrCreateHostKey(deps.dataDir);
  const keys = new KeyStore(deps.dataDir);
  const engine = {
    config: deps.config, gate: deps.gate, sink: deps.sink, verifier: deps.verifier, keys, logger,
    ...(deps.guard ? { guard: deps.guard } : {}),
    ...(deps.onExecTimed ? { onExecTimed: deps.onExecTimed } : {}),
  };
  const sessions = new Set<SshSession>();
  const byId = (sessionId: string): SshSession | undefined => [...sessions].find((s) => s.sessionId === sessionId);
  deps.guard?.attach({
    terminate: (sessionId, reason) => byId(sessionId)?.terminate(reason),
    busy: (sessionId) => byId(sessionId)?.busy ?? false,
  });
  const server = new ssh2.Server({ hostKeys: [hostKey.privateKey], ident: 'Portcullis' }, (conn, info) => {
    gatewayMetrics().connections.inc({ protocol: 'ssh' });
    const session = new SshSession(conn, `${info.ip}:${info.port}`, typeof info.header?.versions?.software === 'string' ? info.header.versions.software : undefined, engine);
    sessions.add(session);
    session.start();
    void session.done.then(() => sessions.delete(session));
  });
  server.on('error', (err: Error) => logger.error({ err: err.message }, 'listener error'));
  // The proxy accepts the TCP connections itself so that each caller's socket is tuned (relay-socket.ts) before ssh2 takes it.
  const listener = createServer((socket) => server.injectSocket(tuneRelaySocket(socket)));
  listener.on('error', (err: Error) => logger.error({ err: err.message }, 'listener error'));
  const keysApi = createKeysApi({ store: keys, verifier: deps.verifier, keyTtlSeconds: deps.config.keyTtlSeconds, logger });
  let keysListening = false;

  return {
    hostKeyFingerprint: hostKey.fingerprint,
    listen(port, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        listener.once('error', reject);
        listener.listen(port, host, () => {
          listener.off('error', reject);
          const address = listener.address() as AddressInfo;
          logger.info({ host, port: address.port, hostKey: hostKey.fingerprint }, 'SSH proxy listening');
          resolve({ port: address.port });
        });
      });
    },
    keysApi: {
      async listen(port, host = '127.0.0.1') {
        const bound = await keysApi.listen(port, host);
        keysListening = true;
        logger.info({ host, port: bound.port }, 'SSH key registration API listening');
        return bound;
      },
    },
    async drain(graceMs, reason) {
      const stopped = new Promise<void>((resolve) => listener.close(() => resolve()));
      await deps.guard?.drain({ graceMs, reason });
      for (const s of sessions) s.terminate(reason);
      await Promise.race([Promise.all([...sessions].map((s) => s.done)), new Promise((r) => setTimeout(r, 3000).unref())]);
      await Promise.race([stopped, new Promise((r) => setTimeout(r, 1000).unref())]);
    },
    async close() {
      await new Promise<void>((resolve) => listener.close(() => resolve()));
      for (const s of sessions) s.shutdown('proxy shutting down');
      await Promise.all([...sessions].map((s) => s.done));
      if (keysListening) await keysApi.close();
    },
  };
}
