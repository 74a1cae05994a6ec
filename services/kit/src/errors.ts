/**
 * One error hierarchy for every service (after KafkaJS): a stable code from
 * the catalogue, an HTTP status for APIs, a `retriable` flag the bus uses to
 * decide between retrying and dead-lettering, and the `cause`.
 *
 * Messages are written for the person who reads them and never carry a
 * secret (tokens, passwords, keys).
 */
export const errorCatalogue = {
  PCL_ERR_CONFIG: { status: 500, retriable: false, summary: 'invalid configuration' },
  PCL_ERR_VALIDATION: { status: 400, retriable: false, summary: 'invalid input' },
  PCL_ERR_UNAUTHENTICATED: { status: 401, retriable: false, summary: 'authentication failed' },
  PCL_ERR_IDP_UNAVAILABLE: { status: 503, retriable: true, summary: 'the identity provider is unreachable' },
  PCL_ERR_FORBIDDEN: { status: 403, retriable: false, summary: 'not allowed' },
  PCL_ERR_NOT_FOUND: { status: 404, retriable: false, summary: 'not found' },
  PCL_ERR_CONFLICT: { status: 409, retriable: false, summary: 'conflicts with the current state' },
  PCL_ERR_VERDICT_TIMEOUT: { status: 504, retriable: true, summary: 'no verdict in time' },
  PCL_ERR_BUS_UNAVAILABLE: { status: 503, retriable: true, summary: 'the event bus is unavailable' },
  PCL_ERR_PUBLISH_FAILED: { status: 503, retriable: true, summary: 'an event could not be written' },
  PCL_ERR_DECODE: { status: 400, retriable: false, summary: 'a message could not be decoded' },
  PCL_ERR_SCHEMA: { status: 500, retriable: false, summary: 'schema registry refused a schema' },
  PCL_ERR_HANDLER: { status: 500, retriable: true, summary: 'an event handler failed' },
  PCL_ERR_INTERNAL: { status: 500, retriable: false, summary: 'internal error' },
  // The gateway's refusals of a command (kit/src/gateway/judge.ts); each proxy says them in its protocol.
  PCL_ERR_BLOCKED: { status: 403, retriable: false, summary: 'the policy blocks the command' },
  PCL_ERR_HELD: { status: 202, retriable: true, summary: 'the command waits for an approval' },
  PCL_ERR_APPROVAL_DENIED: { status: 403, retriable: false, summary: 'the approval was denied, expired or withdrawn' },
  PCL_ERR_HOLD_UNRESOLVED: { status: 504, retriable: true, summary: 'the approval was not decided in time' },
  PCL_ERR_NO_VERDICT: { status: 503, retriable: true, summary: 'no verdict could be obtained and recorded' },
  PCL_ERR_CANCELLED: { status: 499, retriable: false, summary: 'the caller went away or cancelled' },
  PCL_ERR_POLICY_STALE: { status: 503, retriable: true, summary: 'the policy in force could not be kept current' },
  // The `portcullis` command's login (services/cli/src/auth).
  PCL_ERR_NOT_LOGGED_IN: { status: 401, retriable: false, summary: 'no login for this issuer: run portcullis login' },
  PCL_ERR_LOGIN_EXPIRED: { status: 401, retriable: false, summary: 'the login expired or was revoked: run portcullis login' },
  PCL_ERR_GATEWAY_UNREACHABLE: { status: 503, retriable: true, summary: 'the gateway could not be reached' },
  // Revocation and session lifetime (kit/src/gateway/access-guard.ts).
  PCL_ERR_REVOKED: { status: 403, retriable: false, summary: 'the access of this identity, group or client was revoked' },
  PCL_ERR_REVOCATIONS_STALE: { status: 503, retriable: true, summary: 'the revocation list could not be kept current' },
  PCL_ERR_SHUTTING_DOWN: { status: 503, retriable: true, summary: 'the gateway is shutting down' },
} as const;

export type ErrorCode = keyof typeof errorCatalogue;

export class PortcullisError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retriable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retriable?: boolean; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PortcullisError';
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.retriable = options.retriable ?? errorCatalogue[code].retriable;
    if (options.details) this.details = options.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export const isPortcullisError = (err: unknown): err is PortcullisError => err instanceof PortcullisError;

/** A message safe to show: our own errors as written, anything else reduced to its code. */
export function describeError(err: unknown): string {
  if (err instanceof PortcullisError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
