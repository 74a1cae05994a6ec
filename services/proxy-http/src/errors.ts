/**
 * The HTTP proxy's error catalogue: stable codes with the HTTP status the
 * caller gets. Messages never carry a credential.
 */
export const httpProxyErrors = {
  PCL_ERR_UNAUTHENTICATED: { status: 401, reason: 'Unauthorized' },
  PCL_ERR_IDP_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  PCL_ERR_FORBIDDEN: { status: 403, reason: 'Forbidden' },
  /** The identity, a group of it or its client was revoked; or the request was ended from outside (token expiry, an admin). */
  PCL_ERR_REVOKED: { status: 403, reason: 'Forbidden' },
  PCL_ERR_SHUTTING_DOWN: { status: 503, reason: 'ServiceUnavailable' },
  PCL_ERR_NOT_FOUND: { status: 404, reason: 'NotFound' },
  PCL_ERR_BAD_REQUEST: { status: 400, reason: 'BadRequest' },
  PCL_ERR_BODY_TOO_LARGE: { status: 413, reason: 'RequestEntityTooLarge' },
  PCL_ERR_HELD: { status: 202, reason: 'Held' },
  PCL_ERR_APPROVAL_MISMATCH: { status: 409, reason: 'Conflict' },
  PCL_ERR_VERDICT_TIMEOUT: { status: 504, reason: 'Timeout' },
  PCL_ERR_BUS_UNAVAILABLE: { status: 503, reason: 'ServiceUnavailable' },
  PCL_ERR_UPSTREAM: { status: 502, reason: 'BadGateway' },
  PCL_ERR_MASK_LIMIT: { status: 502, reason: 'BadGateway' },
  PCL_ERR_CREDENTIAL: { status: 502, reason: 'BadGateway' },
  PCL_ERR_INTERNAL: { status: 500, reason: 'InternalError' },
} as const;

export type HttpProxyErrorCode = keyof typeof httpProxyErrors;

export class HttpProxyError extends Error {
  readonly code: HttpProxyErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;
  constructor(code: HttpProxyErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'HttpProxyError';
    this.code = code;
    this.status = httpProxyErrors[code].status;
    if (details) this.details = details;
  }
}

/** The JSON body a plain HTTP caller gets. */
export function errorBody(err: HttpProxyError): Record<string, unknown> {
  return { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
}

/**
 * The same error as a Kubernetes API server would send it (metav1.Status), so
 * kubectl prints `Error from server (Forbidden): <message>`.
 */
export function kubernetesStatus(err: HttpProxyError, what?: { group?: string; kind?: string; name?: string }): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  if (what?.name) details.name = what.name;
  if (what?.group !== undefined) details.group = what.group;
  if (what?.kind) details.kind = what.kind;
  if (err.details) details.causes = Object.entries(err.details).map(([field, v]) => ({ reason: err.code, message: String(v), field }));
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.message,
    reason: httpProxyErrors[err.code].reason,
    details,
    code: err.status,
  };
}
