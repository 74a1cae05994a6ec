/**
 * The wire codecs other packages reuse (`@portcullis/proxy-postgres/wire`):
 * the `portcullis connect` listener (services/cli) speaks plain PostgreSQL to
 * a local client and forwards to the gateway with these.
 */
export { MessageFramer, ProtocolViolation, MAX_MESSAGE_BYTES, MAX_STARTUP_PACKET_BYTES, type Frame } from './framing.ts';
export { SocketFrames } from './socket-frames.ts';
export { decodeStartupPacket, type StartupPacket } from './frontend-messages.ts';
export { encodeStartupMessage, encodeSslRequest, encodePasswordMessage } from './startup-message.ts';
export { encodeSslResponse, encodeErrorResponse, decodeNoticeFields, type NoticeFields } from './backend-messages.ts';
