import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { serialize } from 'pg-protocol';
import type { AuthenticationMD5Password, BackendKeyDataMessage, ParameterStatusMessage, ReadyForQueryMessage } from 'pg-protocol/dist/messages.js';
import { PINNED_TARGET_SETTINGS } from '@portcullis/kit';
import { createScramClient, md5PasswordResponse } from './auth/scram.ts';
import type { PostgresResource } from './config.ts';
import { decodeNoticeFields, type NoticeFields, type TransactionStatus } from './wire/backend-messages.ts';
import { parseBackendMessage } from './wire/backend-parser.ts';
import { MAX_MESSAGE_BYTES, MessageFramer } from './wire/framing.ts';
import { SocketFrames } from './wire/socket-frames.ts';
import { encodeStartupMessage } from './wire/startup-message.ts';

/** An authenticated connection to the target, ready for the first query. */
export interface TargetConnection {
  socket: Socket;
  /** Holds bytes the target sent after ReadyForQuery, if any. */
  framer: MessageFramer;
  parameterStatus: Array<[string, string]>;
  backendKey: { processId: number; secretKey: number } | undefined;
  transactionStatus: TransactionStatus;
}

/** The target refused or failed the connection; `fields` is its own ErrorResponse when it sent one. */
export class TargetConnectError extends Error {
  constructor(
    message: string,
    readonly fields?: NoticeFields,
  ) {
    super(message);
    this.name = 'TargetConnectError';
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

async function openSocket(resource: PostgresResource): Promise<Socket> {
  const { host, port } = resource.target;
  const socket = netConnect({ host, port });
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 30_000);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TargetConnectError(`timed out connecting to ${host}:${port}`));
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve();
    });
    const onError = (err: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      reject(new TargetConnectError(`cannot reach ${host}:${port} (${err.code ?? err.message})`));
    };
    socket.once('error', onError);
  });
  return socket;
}

/**
 * TLS to the target — docs "SSL Session Encryption" (protocol-flow.html#id-1.10.6.7.12):
 * SSLRequest, one byte 'S' or 'N', then the TLS handshake on the same socket.
 * verify-full checks the chain against `ca` and the host name; require only encrypts.
 */
async function upgradeToTls(socket: Socket, resource: PostgresResource): Promise<Socket> {
  const mode = resource.target.tls;
  socket.write(serialize.requestSsl());
  const answer = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      cleanup();
      if (chunk.length !== 1) reject(new TargetConnectError('target sent unexpected bytes after SSLRequest'));
      else resolve(chunk[0]!);
    };
    const onClose = (): void => {
      cleanup();
      reject(new TargetConnectError('target closed the connection during TLS negotiation'));
    };
    const cleanup = (): void => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
  });
  if (answer !== 0x53) throw new TargetConnectError(`target ${resource.target.host}:${resource.target.port} does not accept TLS (tls: ${mode} is configured)`);
  socket.pause();
  const host = resource.target.host;
  const secure = tlsConnect({
    socket,
    ...(isIP(host) ? {} : { servername: host }),
    ...(resource.target.ca ? { ca: readFileSync(resource.target.ca) } : {}),
    rejectUnauthorized: mode === 'verify-full',
    ...(mode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
  });
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', () => {
      secure.off('error', onError);
      resolve();
    });
    const onError = (err: Error): void => reject(new TargetConnectError(`TLS to the target failed: ${err.message}`));
    secure.once('error', onError);
  });
  return secure;
}

/**
 * What the target's StartupMessage carries: the caller's (already judged)
 * settings, then the gateway's identity for the target and the pinned
 * settings last, so that no caller parameter can override them — PostgreSQL
 * applies startup parameters in order, and their values become the session's
 * reset values (RESET and DEFAULT return to them).
 */
export function targetStartupParameters(resource: PostgresResource, clientParameters: Record<string, string>): Array<[string, string]> {
  const reserved = new Set(['user', 'database', 'options', 'replication', ...Object.keys(PINNED_TARGET_SETTINGS)]);
  const out: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(clientParameters)) if (!reserved.has(name.toLowerCase())) out.push([name, value]);
  out.push(['user', resource.target.user], ['database', resource.target.database]);
  for (const [name, value] of Object.entries(PINNED_TARGET_SETTINGS)) out.push([name, value]);
  return out;
}

/**
 * Connects and authenticates with the gateway-held password — docs "Start-up"
 * (protocol-flow.html#PROTOCOL-FLOW-START-UP): StartupMessage, then the
 * authentication exchange the target asks for (SCRAM-SHA-256, md5 or
 * cleartext), then ParameterStatus / BackendKeyData until ReadyForQuery.
 */
export async function connectTarget(
  resource: PostgresResource,
  password: string,
  clientParameters: Record<string, string> = {},
): Promise<TargetConnection> {
  let socket = await openSocket(resource);
  try {
    if (resource.target.tls !== 'disable') socket = await upgradeToTls(socket, resource);
    const frames = new SocketFrames(socket, new MessageFramer({ typed: true, maxMessageBytes: MAX_MESSAGE_BYTES }));
    socket.write(encodeStartupMessage(targetStartupParameters(resource, clientParameters)));
    const parameterStatus: Array<[string, string]> = [];
    let backendKey: TargetConnection['backendKey'];
    let scram: ReturnType<typeof createScramClient> | undefined;
    const deadline = Date.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      const frame = await frames.next(Math.max(1, deadline - Date.now()));
      if (frame.type === 0x45 /* E */) {
        const fields = decodeNoticeFields(frame.payload);
        throw new TargetConnectError(fields.M, fields);
      }
      const msg = parseBackendMessage(frame);
      switch (msg.name) {
        case 'authenticationCleartextPassword':
          if (resource.target.tls === 'disable') throw new TargetConnectError('the target asks for a cleartext password over an unencrypted connection; configure tls: require or verify-full');
          socket.write(serialize.password(password));
          break;
        case 'authenticationMD5Password':
          socket.write(serialize.password(md5PasswordResponse(resource.target.user, password, (msg as AuthenticationMD5Password).salt)));
          break;
        case 'authenticationSASL': {
          const mechanisms = (msg as unknown as { mechanisms: string[] }).mechanisms;
          if (!mechanisms.includes('SCRAM-SHA-256')) throw new TargetConnectError(`the target offers no supported SASL mechanism (${mechanisms.join(', ')})`);
          scram = createScramClient(password);
          socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.clientFirst));
          break;
        }
        case 'authenticationSASLContinue':
          if (!scram) throw new TargetConnectError('unexpected SASLContinue from the target');
          socket.write(serialize.sendSCRAMClientFinalMessage(scram.final((msg as unknown as { data: string }).data)));
          break;
        case 'authenticationSASLFinal':
          if (!scram) throw new TargetConnectError('unexpected SASLFinal from the target');
          try {
            scram.verifyServer((msg as unknown as { data: string }).data);
          } catch (err) {
            throw new TargetConnectError((err as Error).message);
          }
          break;
        case 'authenticationOk':
          break;
        case 'parameterStatus': {
          const p = msg as ParameterStatusMessage;
          parameterStatus.push([p.parameterName, p.parameterValue]);
          break;
        }
        case 'backendKeyData': {
          const k = msg as BackendKeyDataMessage;
          backendKey = { processId: k.processID, secretKey: k.secretKey };
          break;
        }
        case 'notice':
          break;
        case 'readyForQuery': {
          const { framer } = frames.release();
          return { socket, framer, parameterStatus, backendKey, transactionStatus: (msg as ReadyForQueryMessage).status as TransactionStatus };
        }
        default:
          throw new TargetConnectError(`unexpected ${msg.name} from the target during start-up`);
      }
    }
  } catch (err) {
    socket.destroy();
    if (err instanceof TargetConnectError) throw err;
    throw new TargetConnectError((err as Error).message);
  }
}

/**
 * Forwards a cancel to the target with the target's own key — docs "Canceling
 * Requests in Progress" (protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS):
 * a new connection carrying CancelRequest, which the server answers by closing.
 */
export async function sendTargetCancel(resource: PostgresResource, key: { processId: number; secretKey: number }): Promise<void> {
  let socket = await openSocket(resource);
  try {
    if (resource.target.tls !== 'disable') socket = await upgradeToTls(socket, resource);
    await new Promise<void>((resolve) => {
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.end(serialize.cancel(key.processId, key.secretKey));
      setTimeout(resolve, 5000).unref();
    });
  } finally {
    socket.destroy();
  }
}
