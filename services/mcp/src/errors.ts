/**
 * The MCP service's error catalogue: stable codes. HTTP-level errors (401,
 * 403, 404) carry a status; tool-level ones reach the caller as a tool
 * result with isError and the code in its text. Messages never carry a
 * credential.
 */
export const mcpErrors = {
  PCL_ERR_UNAUTHENTICATED: { status: 401 },
  PCL_ERR_IDP_UNAVAILABLE: { status: 503 },
  /** A request for an MCP session another caller opened. */
  PCL_ERR_SESSION_MISMATCH: { status: 403 },
  /** A browser origin not in mcp.allowedOrigins (DNS-rebinding defence). */
  PCL_ERR_FORBIDDEN_ORIGIN: { status: 403 },
  PCL_ERR_NOT_FOUND: { status: 404 },
  PCL_ERR_BAD_REQUEST: { status: 400 },
  PCL_ERR_CONFIG: { status: 500 },
  PCL_ERR_BLOCKED: { status: 403 },
  PCL_ERR_HELD: { status: 202 },
  PCL_ERR_APPROVAL_DENIED: { status: 403 },
  PCL_ERR_APPROVAL_UNKNOWN: { status: 404 },
  PCL_ERR_NOT_RUN: { status: 503 },
  /** The target (database, host, API, upstream MCP server) answered with an error. */
  PCL_ERR_TARGET: { status: 502 },
  PCL_ERR_MASK_LIMIT: { status: 502 },
  PCL_ERR_INTERNAL: { status: 500 },
} as const;

export type McpErrorCode = keyof typeof mcpErrors;

export class McpServiceError extends Error {
  readonly code: McpErrorCode;
  readonly status: number;
  constructor(code: McpErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'McpServiceError';
    this.code = code;
    this.status = mcpErrors[code].status;
  }
}
