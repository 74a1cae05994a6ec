/**
 * Typed API clients, generated from the services' OpenAPI documents
 * (scripts/generate-api-types.ts). The browser holds no token: the console
 * server forwards /api/approvals and /api/query with the session's token.
 * Every mutation carries the session's CSRF token.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { paths as ApprovalPaths, components as ApprovalComponents } from './generated/approvals.ts';
import type { paths as QueryPaths } from './generated/query.ts';
import type { paths as ConsolePaths, components as ConsoleComponents } from './generated/console.ts';

let csrfToken = '';
export const setCsrfToken = (token: string): void => void (csrfToken = token);

/** Thrown for any non-2xx answer; carries the API's PCL_ERR_ code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const csrf: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET') request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
};

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- openapi-fetch's own constraint on path maps
function client<P extends {}>(baseUrl: string) {
  const c = createClient<P>({ baseUrl: `${window.location.origin}${baseUrl}`, credentials: 'same-origin' });
  c.use(csrf);
  return c;
}

export const approvalsApi = client<ApprovalPaths>('/api/approvals');
export const queryApi = client<QueryPaths>('/api/query');
export const consoleApi = client<ConsolePaths>('');

/** The data of an openapi-fetch answer, or an ApiError. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.data !== undefined) return result.data;
  const body = (result.error ?? {}) as { code?: string; message?: string };
  throw new ApiError(result.response.status, body.code ?? `HTTP_${result.response.status}`, body.message ?? result.response.statusText);
}

export type Approval = ApprovalComponents['schemas']['Approval'];
export type Me = ConsoleComponents['schemas']['Me'];
export type Decision = ConsoleComponents['schemas']['Decision'];
export type PolicyView = ConsoleComponents['schemas']['PolicyView'];
