import { encodeErrorResponse, encodeNoticeResponse, type NoticeFields, type TextEncoding } from './wire/backend-messages.ts';

/**
 * What the proxy tells a PostgreSQL client, as the protocol's own
 * ErrorResponse with a SQLSTATE (docs, Appendix A "PostgreSQL Error Codes"),
 * so psql prints `ERROR:  …` and drivers raise their usual error types.
 * Each has a stable PCL_ERR_ code in the detail field for support and audit.
 */
export const SqlState = {
  insufficientPrivilege: '42501',
  syntaxError: '42601',
  invalidAuthorizationSpecification: '28000',
  invalidPassword: '28P01',
  protocolViolation: '08P01',
  connectionFailure: '08006',
  sqlclientUnableToEstablishSqlconnection: '08001',
  invalidCatalogName: '3D000',
  queryCanceled: '57014',
  /** admin_shutdown: the session was ended from outside (revocation, token expiry, an admin, the gateway shutting down). */
  adminShutdown: '57P01',
  featureNotSupported: '0A000',
  programLimitExceeded: '54000',
  internalError: 'XX000',
} as const;

export type Severity = 'ERROR' | 'FATAL';

export class PgClientError extends Error {
  constructor(
    readonly sqlState: string,
    message: string,
    readonly options: { severity?: Severity; code?: string; detail?: string; hint?: string; /** 1-based character offset into the statement (field P). */ position?: number } = {},
  ) {
    super(message);
    this.name = 'PgClientError';
  }

  get severity(): Severity {
    return this.options.severity ?? 'ERROR';
  }

  toFields(): NoticeFields {
    const detail = [this.options.detail, this.options.code ? `(${this.options.code})` : undefined].filter(Boolean).join(' ');
    return {
      S: this.severity,
      V: this.severity,
      C: this.sqlState,
      M: this.message,
      ...(detail ? { D: detail } : {}),
      ...(this.options.hint ? { H: this.options.hint } : {}),
      ...(this.options.position !== undefined ? { P: String(this.options.position) } : {}),
    };
  }

  /** `text` writes the messages in the session's client encoding (UTF-8 unless told). */
  encode(text?: TextEncoding): Buffer {
    return encodeErrorResponse(this.toFields(), text);
  }
}

export const fatal = (sqlState: string, message: string, code: string, hint?: string): PgClientError =>
  new PgClientError(sqlState, message, { severity: 'FATAL', code, ...(hint ? { hint } : {}) });

export function notice(message: string, hint?: string): Buffer {
  return encodeNoticeResponse({ S: 'NOTICE', V: 'NOTICE', C: '00000', M: message, ...(hint ? { H: hint } : {}) });
}
