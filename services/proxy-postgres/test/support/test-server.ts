import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { md5PasswordResponse } from '../../src/auth/scram.ts';
import {
  encodeAuthenticationOk,
  encodeBackendKeyData,
  encodeCommandComplete,
  encodeDataRow,
  encodeErrorResponse,
  encodeParameterStatus,
  encodeReadyForQuery,
} from '../../src/wire/backend-messages.ts';
import { MessageFramer } from '../../src/wire/framing.ts';
import { decodeStartupPacket } from '../../src/wire/frontend-messages.ts';
import { serverSecureContext, type CertificatePair } from '../../src/tls.ts';

/**
 * A minimal PostgreSQL server for what the real cluster's pg_hba cannot
 * exercise (md5 authentication, TLS to the target): it asks for md5, answers
 * every Query with one row naming what it saw, and records the startup
 * parameters it received.
 */
export interface TestServer {
  port: number;
  startups: Record<string, string>[];
  queries: string[];
  tlsSessions: number;
  close(): Promise<void>;
}

function rowDescription(name: string): Buffer {
  const body = Buffer.concat([Buffer.from([0, 1]), Buffer.from(`${name}\0`), Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0])]);
  const head = Buffer.alloc(5);
  head[0] = 0x54;
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export async function startTestServer(options: { user: string; password: string; certificate?: CertificatePair }): Promise<TestServer> {
  const state: TestServer = { port: 0, startups: [], queries: [], tlsSessions: 0, close: async () => undefined };
  const secureContext = options.certificate ? serverSecureContext(options.certificate) : undefined;
  const serve = (socket: Socket): void => {
    let framer = new MessageFramer({ typed: false, maxMessageBytes: 10_000 });
    let stage: 'startup' | 'password' | 'ready' = 'startup';
    const salt = randomBytes(4);
    let user = '';
    const onData = (chunk: Buffer): void => {
      framer.push(chunk);
      for (let f = framer.next(); f; f = framer.next()) {
        if (stage === 'startup') {
          const packet = decodeStartupPacket(f.payload);
          if (packet.kind === 'ssl-request') {
            if (!secureContext) {
              socket.write('N');
              continue;
            }
            socket.off('data', onData);
            socket.write('S');
            const secure = new TLSSocket(socket, { isServer: true, secureContext });
            state.tlsSessions++;
            framer = new MessageFramer({ typed: false, maxMessageBytes: 10_000 });
            secure.on('data', onData);
            secure.on('error', () => undefined);
            socket = secure;
            return;
          }
          if (packet.kind !== 'startup') return void socket.destroy();
          state.startups.push({ ...packet.parameters });
          user = packet.parameters.user ?? '';
          const md5 = Buffer.alloc(9);
          md5[0] = 0x52;
          md5.writeInt32BE(12, 1);
          md5.writeInt32BE(5, 5);
          socket.write(Buffer.concat([md5, salt]));
          framer.setTyped(true);
          stage = 'password';
        } else if (stage === 'password') {
          const answer = f.payload.toString('utf8', 0, f.payload.length - 1);
          if (user !== options.user || answer !== md5PasswordResponse(options.user, options.password, salt)) {
            socket.end(encodeErrorResponse({ S: 'FATAL', C: '28P01', M: `password authentication failed for user "${user}"` }));
            return;
          }
          socket.write(Buffer.concat([encodeAuthenticationOk(), encodeParameterStatus('server_version', '15.0-test'), encodeBackendKeyData(42, 4242), encodeReadyForQuery('I')]));
          stage = 'ready';
        } else if (f.type === 0x51) {
          const text = f.payload.toString('utf8', 0, f.payload.length - 1);
          state.queries.push(text);
          socket.write(Buffer.concat([rowDescription('answer'), encodeDataRow([Buffer.from(`md5 ok: ${text}`)]), encodeCommandComplete('SELECT 1'), encodeReadyForQuery('I')]));
        } else if (f.type === 0x58) {
          socket.end();
        }
      }
    };
    socket.on('data', onData);
    socket.on('error', () => undefined);
  };
  const server: Server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.close = () => new Promise((resolve) => server.close(() => resolve()));
  return state;
}
