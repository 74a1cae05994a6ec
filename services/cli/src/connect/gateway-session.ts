/**
 * Opens a PostgreSQL session at the gateway on behalf of a local client: the
 * client's StartupMessage with the resource as database, then the access
 * token as the cleartext password the gateway asks for (inside TLS). What the
 * gateway says before the password request (NegotiateProtocolVersion) is for
 * the client; an ErrorResponse ends the attempt and goes to the client too.
 */
import type { TLSSocket } from 'node:tls';
import { PortcullisError } from '@portcullis/kit';
import { MessageFramer, SocketFrames, encodePasswordMessage, encodeStartupMessage } from '@portcullis/proxy-postgres/wire';
import { openGatewayTls, type PgGatewayAddress } from './gateway-tls.ts';

export type GatewaySession =
  | { kind: 'open'; socket: TLSSocket; forClient: Buffer[] }
  | { kind: 'refused'; forClient: Buffer[] };

const HANDSHAKE_TIMEOUT_MS = 30_000;
const AUTH_CLEARTEXT_PASSWORD = 3;

export async function openGatewaySession(gateway: PgGatewayAddress, parameters: ReadonlyArray<readonly [string, string]>, token: string): Promise<GatewaySession> {
  const socket = await openGatewayTls(gateway);
  const frames = new SocketFrames(socket, new MessageFramer({ typed: true, maxMessageBytes: 1024 * 1024 }));
  const forClient: Buffer[] = [];
  try {
    socket.write(encodeStartupMessage(parameters));
    for (;;) {
      const frame = await frames.next(HANDSHAKE_TIMEOUT_MS);
      const type = String.fromCharCode(frame.type);
      if (type === 'v') {
        forClient.push(frame.raw);
        continue;
      }
      if (type === 'E') {
        forClient.push(frame.raw);
        socket.end();
        return { kind: 'refused', forClient };
      }
      if (type === 'R' && frame.payload.readInt32BE(0) === AUTH_CLEARTEXT_PASSWORD) {
        socket.write(encodePasswordMessage(token));
        // From here on the gateway's messages (AuthenticationOk, …) are the client's to read.
        const { framer } = frames.release();
        if (framer.bufferedBytes > 0) forClient.push(framer.takeRemainder());
        return { kind: 'open', socket, forClient };
      }
      throw new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `the gateway at ${gateway.host}:${gateway.port} answered the start-up with message "${type}" instead of asking for the access token`);
    }
  } catch (err) {
    socket.destroy();
    if (err instanceof PortcullisError) throw err;
    throw new PortcullisError('PCL_ERR_GATEWAY_UNREACHABLE', `the gateway at ${gateway.host}:${gateway.port} broke off the start-up: ${(err as Error).message}`, { cause: err });
  }
}
