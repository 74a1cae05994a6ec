import { Parser } from 'pg-protocol/dist/parser.js';
import type { BackendMessage } from 'pg-protocol/dist/messages.js';
import type { Frame } from './framing.ts';
import { ProtocolViolation } from './framing.ts';

export type { BackendMessage };

/**
 * Decodes one framed target message with pg-protocol. Frames are whole
 * messages, so the parser's callback runs synchronously exactly once.
 */
export function parseBackendMessage(frame: Frame): BackendMessage {
  let parsed: BackendMessage | undefined;
  try {
    new Parser().parse(frame.raw, (message) => {
      parsed = message;
    });
  } catch {
    throw new ProtocolViolation(`malformed message of type ${String.fromCharCode(frame.type)} from the target`);
  }
  if (!parsed) throw new ProtocolViolation(`malformed message of type ${String.fromCharCode(frame.type)} from the target`);
  return parsed;
}
