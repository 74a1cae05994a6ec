import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs (pino). Fields that could hold a credential are
 * redacted wherever they appear, as a second line of defence: code never
 * logs them in the first place.
 */
export const REDACTED_PATHS = [
  'password', '*.password', 'token', '*.token', 'accessToken', '*.accessToken',
  'authorization', '*.authorization', 'headers.authorization', 'secret', '*.secret',
  'privateKey', '*.privateKey', 'credential', '*.credential',
];

export function createLogger(name: string, options: { level?: string } = {}): Logger {
  return pino({
    name,
    level: options.level ?? process.env.PORTCULLIS_LOG_LEVEL ?? 'info',
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { service: name },
  });
}

/** A logger that discards everything (tests, CLI). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
