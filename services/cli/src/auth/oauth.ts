/** Token endpoint requests (RFC 6749 §5) as the CLI makes them; errors carry the OAuth error code, never a token. */
import { PortcullisError } from '@portcullis/kit';

export interface TokenResponse {
  access_token: string;
  token_type?: string;
  expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
}

/** The provider refused a token request with an OAuth error (invalid_grant, authorization_pending, …). */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    readonly error: string,
    readonly description: string | undefined,
    readonly interval?: number,
  ) {
    super(`${error}${description ? ` (${description})` : ''}`);
  }
}

export async function postForm(endpoint: string, form: Record<string, string | undefined>, basicAuth?: { id: string; secret: string }): Promise<Record<string, unknown>> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) if (v !== undefined) body.set(k, v);
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        // RFC 6749 §2.3.1: form-encode id and secret before Basic encoding.
        ...(basicAuth ? { authorization: `Basic ${Buffer.from(`${encodeURIComponent(basicAuth.id)}:${encodeURIComponent(basicAuth.secret)}`).toString('base64')}` } : {}),
      },
      body,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new PortcullisError('PCL_ERR_IDP_UNAVAILABLE', `cannot reach the OpenID provider at ${new URL(endpoint).origin}: ${(err as Error).message}`, { cause: err });
  }
  const json = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const error = typeof json.error === 'string' ? json.error : `http_${res.status}`;
    const description = typeof json.error_description === 'string' ? json.error_description.slice(0, 300) : undefined;
    throw new OAuthError(error, description, typeof json.interval === 'number' ? json.interval : undefined);
  }
  return json;
}

export async function tokenRequest(endpoint: string, form: Record<string, string | undefined>, basicAuth?: { id: string; secret: string }): Promise<TokenResponse> {
  const json = await postForm(endpoint, form, basicAuth);
  if (typeof json.access_token !== 'string') throw new OAuthError('invalid_response', 'the token endpoint answered without an access_token');
  return json as unknown as TokenResponse;
}
