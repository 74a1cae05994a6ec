import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Identity } from '@portcullis/schemas';
import { fatal, PgClientError, SqlState } from './errors.ts';
import type { IdentityVerifier } from './ports.ts';
import { judgeStartupSetting } from '@portcullis/kit';
import { BackendOptionRefused, parseBackendOptions } from './startup-options.ts';
import { encodeAuthenticationCleartextPassword, encodeNegotiateProtocolVersion, encodeSslResponse } from './wire/backend-messages.ts';
import { MAX_MESSAGE_BYTES, MAX_STARTUP_PACKET_BYTES, MessageFramer, ProtocolViolation } from './wire/framing.ts';
import { decodePassword, decodeStartupPacket } from './wire/frontend-messages.ts';
import { SocketFrames } from './wire/socket-frames.ts';

/** A caller authenticated by its access token, before the proxy connects to the target. */
export interface AuthenticatedCaller {
  kind: 'session';
  socket: Socket;
  framer: MessageFramer;
  identity: Identity;
  resourceName: string;
  /**
   * The caller's settings that pass to the target: only harmless ones
   * (kit/postgres/settings.ts), from the startup packet and from `-c` in
   * `options`, in that order. The target connector adds the pinned ones.
   */
  targetParameters: Record<string, string>;
  applicationName: string | undefined;
  reason: string | undefined;
  encrypted: boolean;
  /** When the access token expires (recorded on SessionOpened). */
  tokenExpiresAt: string | undefined;
}

export type HandshakeOutcome = AuthenticatedCaller | { kind: 'cancel'; processId: number; secretKey: number };

export interface HandshakeOptions {
  secureContext: SecureContext;
  verifier: IdentityVerifier;
  allowCleartextOnLoopback: boolean;
  /** Told about the TLS socket once the connection is upgraded (so a refusal goes out encrypted). */
  onSocket?: (socket: Socket) => void;
}

const STARTUP_TIMEOUT_MS = 30_000;
const MAX_PASSWORD_MESSAGE_BYTES = 64 * 1024;
/** Startup parameters the proxy reads itself; every other one is a setting for the target. */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || !!address?.startsWith('127.');
}

async function startTls(socket: Socket, secureContext: SecureContext): Promise<TLSSocket> {
  const secure = new TLSSocket(socket, { isServer: true, secureContext });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('TLS handshake timed out')), STARTUP_TIMEOUT_MS);
    secure.once('secure', () => {
      clearTimeout(timer);
      secure.off('error', onError);
      resolve();
    });
    const onError = (err: Error): void => {
      clearTimeout(timer);
      reject(new Error(`TLS handshake failed: ${err.message}`));
    };
    secure.once('error', onError);
  });
  return secure;
}

/** A setting the caller asked for at startup that Portcullis does not pass on: the connection ends with FATAL naming it. */
function settingRefused(parameter: string, reason: string): PgClientError {
  return new PgClientError(SqlState.insufficientPrivilege, `Portcullis does not accept the startup parameter ${parameter}: ${reason}`, {
    severity: 'FATAL',
    code: 'PCL_ERR_PG_STARTUP_PARAMETER',
    hint: 'the gateway owns the session settings; connect without it (see docs/protocols/postgres.md, "Session settings")',
  });
}

/**
 * The caller's startup parameters and `options`, judged by the same list as
 * SQL SET: harmless settings pass, anything else refuses the connection.
 */
export function callerSettings(parameters: Record<string, string>): { reason: string | undefined; targetParameters: Record<string, string> } {
  const targetParameters: Record<string, string> = {};
  const pass = (shownAs: string, name: string, value: string): void => {
    const judged = judgeStartupSetting(name, value);
    if (!judged.ok && judged.name === 'client_encoding') {
      throw new PgClientError(SqlState.featureNotSupported, `Portcullis does not accept client_encoding ${value}: ${judged.reason}`, {
        severity: 'FATAL',
        code: 'PCL_ERR_PG_CLIENT_ENCODING',
        hint: 'use UTF8 or another ASCII-safe encoding (LATIN1…10, WIN125x, KOI8R/U, EUC_JP/KR/CN)',
      });
    }
    if (!judged.ok) throw settingRefused(shownAs, judged.reason);
    targetParameters[judged.name] = value;
  };
  for (const [name, value] of Object.entries(parameters)) {
    // _pq_.* are protocol extensions, answered by NegotiateProtocolVersion and never forwarded.
    if (NOT_SETTINGS.has(name) || name.startsWith('_pq_.')) continue;
    pass(`"${name}"`, name, value);
  }
  let options: ReturnType<typeof parseBackendOptions>;
  try {
    options = parseBackendOptions(parameters.options);
  } catch (err) {
    if (err instanceof BackendOptionRefused) throw settingRefused('"options"', err.message);
    throw err;
  }
  for (const { name, value } of options.settings) pass(`"options" (-c ${name})`, name, value);
  return { reason: options.reason, targetParameters };
}

/**
 * Start-up as a PostgreSQL server runs it — docs "Start-up"
 * (protocol-flow.html#PROTOCOL-FLOW-START-UP): optional SSLRequest (answered
 * 'S', then TLS) or GSSENCRequest (answered 'N'), or a CancelRequest; then the
 * StartupMessage; then AuthenticationCleartextPassword, whose answer is the
 * caller's OIDC access token. Throws PgClientError (sent as FATAL) or
 * ProtocolViolation.
 */
export async function acceptCaller(rawSocket: Socket, options: HandshakeOptions): Promise<HandshakeOutcome> {
  let socket: Socket = rawSocket;
  let encrypted = false;
  let frames = new SocketFrames(socket, new MessageFramer({ typed: false, maxMessageBytes: MAX_STARTUP_PACKET_BYTES }));
  let parameters: Record<string, string>;
  let protocolVersion: number;
  for (;;) {
    const frame = await frames.next(STARTUP_TIMEOUT_MS);
    const packet = decodeStartupPacket(frame.payload);
    if (packet.kind === 'cancel-request') {
      frames.release();
      return { kind: 'cancel', processId: packet.processId, secretKey: packet.secretKey };
    }
    if (packet.kind === 'gssenc-request') {
      socket.write(encodeSslResponse(false));
      continue;
    }
    if (packet.kind === 'ssl-request') {
      if (encrypted) throw new ProtocolViolation('SSLRequest inside TLS');
      // Bytes sent before our 'S' would be read as if they came through TLS (CVE-2021-23214): refuse them.
      if (frames.framer.bufferedBytes > 0) throw new ProtocolViolation('received unencrypted data after SSL request');
      frames.release();
      socket.write(encodeSslResponse(true));
      socket = await startTls(socket, options.secureContext);
      options.onSocket?.(socket);
      encrypted = true;
      frames = new SocketFrames(socket, new MessageFramer({ typed: false, maxMessageBytes: MAX_STARTUP_PACKET_BYTES }));
      continue;
    }
    parameters = packet.parameters;
    protocolVersion = packet.protocolVersion;
    break;
  }

  const user = parameters.user;
  if (!user) throw fatal(SqlState.invalidAuthorizationSpecification, 'no PostgreSQL user name specified in startup packet', 'PCL_ERR_PG_NO_USER');
  if (parameters.replication !== undefined && parameters.replication !== 'false' && parameters.replication !== '0') {
    throw fatal(SqlState.featureNotSupported, 'Portcullis does not proxy replication connections', 'PCL_ERR_PG_REPLICATION');
  }
  if (!encrypted && !(options.allowCleartextOnLoopback && isLoopback(rawSocket.remoteAddress))) {
    throw fatal(
      SqlState.invalidAuthorizationSpecification,
      'Portcullis accepts the access token only over TLS, and this connection is not encrypted',
      'PCL_ERR_PG_TLS_REQUIRED',
      'connect with sslmode=require (or verify-full with the gateway CA)',
    );
  }

  // Protocol 3.x with a minor version we do not speak, or `_pq_.` extensions:
  // NegotiateProtocolVersion tells the client we speak 3.0 (docs "Protocol versions").
  const extensions = Object.keys(parameters).filter((k) => k.startsWith('_pq_.'));
  if ((protocolVersion & 0xffff) > 0 || extensions.length > 0) socket.write(encodeNegotiateProtocolVersion(0, extensions));

  socket.write(encodeAuthenticationCleartextPassword());
  frames.framer.setTyped(true, MAX_PASSWORD_MESSAGE_BYTES);
  const answer = await frames.next(STARTUP_TIMEOUT_MS);
  if (answer.type !== 0x70 /* p */) throw new ProtocolViolation(`expected password response, got message type ${answer.type}`);
  const token = decodePassword(answer.payload).password;
  let identity: Identity;
  let tokenExpiresAt: string | undefined;
  try {
    if (!token) throw new Error('empty password: send an OIDC access token as the password');
    ({ identity, expiresAt: tokenExpiresAt } = await options.verifier.verifyToken(token));
  } catch (err) {
    const why = (err as Error).message.slice(0, 300);
    throw new PgClientError(SqlState.invalidPassword, `access token rejected for user "${user}": ${why}`, {
      severity: 'FATAL',
      code: 'PCL_ERR_PG_TOKEN',
      hint: 'send a current OIDC access token from the Portcullis issuer as the password',
    });
  }

  const { reason, targetParameters } = callerSettings(parameters);
  const { framer } = frames.release();
  framer.setTyped(true, MAX_MESSAGE_BYTES);
  return {
    kind: 'session',
    socket,
    framer,
    identity,
    resourceName: parameters.database || user,
    targetParameters,
    applicationName: parameters.application_name || undefined,
    reason,
    encrypted,
    tokenExpiresAt,
  };
}
