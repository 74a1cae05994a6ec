/**
 * `portcullis connect <resource>`: a PostgreSQL listener on 127.0.0.1 for the
 * person's usual client. The client speaks plain PostgreSQL to it (whatever
 * user and password it sends are not asked for: the listener takes only
 * loopback connections, and the gateway checks who is calling); each client
 * connection becomes a TLS session at the gateway, authenticated with a token
 * taken from the token source at that moment, so a listener left running
 * for hours keeps opening sessions as the token is refreshed.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { isPortcullisError } from '@portcullis/kit';
import {
  MAX_STARTUP_PACKET_BYTES, MessageFramer, SocketFrames, decodeStartupPacket, encodeErrorResponse, encodeSslResponse, type StartupPacket,
} from '@portcullis/proxy-postgres/wire';
import type { TokenSource } from '../auth/token-source.ts';
import { openGatewaySession } from './gateway-session.ts';
import { openGatewayTls, type PgGatewayAddress } from './gateway-tls.ts';

export interface PgListenerOptions {
  resource: string;
  gateway: PgGatewayAddress;
  tokens: TokenSource;
  /** 0: any free port. */
  port: number;
  /** Told about every connection that could not be opened (the client gets the message too). */
  onRefused?(message: string): void;
}

export interface PgListener {
  port: number;
  close(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 30_000;
const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

export async function startPgListener(options: PgListenerOptions): Promise<PgListener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    // Bound to 127.0.0.1 already; refuse anything else all the same.
    if (!LOOPBACK.has(client.remoteAddress ?? '')) return void client.destroy();
    serveClient(client, options).catch(() => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as { port: number }).port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

async function serveClient(client: Socket, options: PgListenerOptions): Promise<void> {
  const frames = new SocketFrames(client, new MessageFramer({ typed: false, maxMessageBytes: MAX_STARTUP_PACKET_BYTES }));
  let startup: StartupPacket & { kind: 'startup' };
  for (;;) {
    const frame = await frames.next(STARTUP_TIMEOUT_MS);
    let packet: StartupPacket;
    try {
      packet = decodeStartupPacket(frame.payload);
    } catch (err) {
      return fatal(client, '08P01', (err as Error).message);
    }
    // Plain PostgreSQL here: the encryption is between this process and the gateway.
    if (packet.kind === 'ssl-request' || packet.kind === 'gssenc-request') {
      client.write(encodeSslResponse(false));
      continue;
    }
    if (packet.kind === 'cancel-request') {
      frames.release();
      return forwardCancel(frame.raw, options.gateway, client);
    }
    startup = packet;
    break;
  }

  // The resource is the one this listener is for, whatever database the client names.
  const parameters: [string, string][] = Object.entries(startup.parameters).filter(([name]) => name !== 'database');
  parameters.push(['database', options.resource]);
  if (!startup.parameters.user) parameters.push(['user', 'portcullis']);

  let session;
  try {
    const { accessToken } = await options.tokens.token();
    session = await openGatewaySession(options.gateway, parameters, accessToken);
  } catch (err) {
    const message = isPortcullisError(err) ? `${err.message}` : `portcullis connect: ${(err as Error).message}`;
    options.onRefused?.(message);
    const notLoggedIn = isPortcullisError(err) && ['PCL_ERR_NOT_LOGGED_IN', 'PCL_ERR_LOGIN_EXPIRED', 'PCL_ERR_UNAUTHENTICATED'].includes(err.code);
    return fatal(client, notLoggedIn ? '28000' : '08001', message);
  }
  const { framer } = frames.release();
  const early = framer.bufferedBytes > 0 ? framer.takeRemainder() : Buffer.alloc(0);
  for (const bytes of session.forClient) client.write(bytes);
  if (session.kind === 'refused') return void client.end();

  const gateway = session.socket;
  if (early.length > 0) gateway.write(early);
  gateway.on('error', () => client.destroy());
  gateway.once('close', () => client.destroy());
  client.once('close', () => gateway.destroy());
  gateway.pipe(client);
  client.pipe(gateway);
  client.resume();
}

/** A CancelRequest goes to the gateway unchanged, inside TLS like everything else. */
async function forwardCancel(packet: Buffer, gateway: PgGatewayAddress, client: Socket): Promise<void> {
  try {
    const tls = await openGatewayTls(gateway);
    tls.on('error', () => tls.destroy());
    tls.end(packet);
  } finally {
    client.end();
  }
}

function fatal(client: Socket, sqlState: string, message: string): void {
  client.end(encodeErrorResponse({ S: 'FATAL', V: 'FATAL', C: sqlState, M: message }));
}
