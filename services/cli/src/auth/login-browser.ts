/**
 * `portcullis login`: the authorization code flow with PKCE (RFC 7636) and a
 * loopback redirect (RFC 8252 §7.3). A one-shot HTTP server on 127.0.0.1 and
 * a free port receives the code; `state` ties the answer to this login and
 * the verifier never leaves this process, so a code intercepted on the way
 * is useless to anyone else.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { PortcullisError } from '@portcullis/kit';
import type { IssuerEndpoints } from './discovery.ts';
import { tokenRequest, type TokenResponse } from './oauth.ts';

export interface BrowserLoginOptions {
  endpoints: IssuerEndpoints;
  clientId: string;
  scope: string;
  resource: string | undefined;
  /** Shows the URL to the person (opens a browser, prints it). */
  present(url: string): void;
  timeoutMs?: number;
}

const LOGIN_TIMEOUT_MS = 5 * 60_000;

export async function browserLogin(options: BrowserLoginOptions): Promise<TokenResponse> {
  const { endpoints, clientId } = options;
  if (!endpoints.authorizationEndpoint) throw new PortcullisError('PCL_ERR_CONFIG', `${endpoints.issuer} has no authorization endpoint; try portcullis login --device`);
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  try {
    const { port } = server.address() as { port: number };
    const redirectUri = `http://127.0.0.1:${port}/callback`;
    const url = new URL(endpoints.authorizationEndpoint);
    const params: Record<string, string | undefined> = {
      response_type: 'code',
      client_id: clientId,
      redirect_uri: redirectUri,
      scope: options.scope,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      resource: options.resource,
    };
    for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
    const code = awaitCode(server, state, options.timeoutMs ?? LOGIN_TIMEOUT_MS);
    options.present(url.toString());
    return await tokenRequest(endpoints.tokenEndpoint, {
      grant_type: 'authorization_code',
      client_id: clientId,
      code: await code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

/** The code from the first callback carrying our state; an error the provider sends back ends the login. */
function awaitCode(server: Server, state: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new PortcullisError('PCL_ERR_UNAUTHENTICATED', `no login within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const answer = (status: number, text: string): void => {
        res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': "default-src 'none'" });
        res.end(`<!doctype html><meta charset="utf-8"><title>Portcullis login</title><p>${text}</p>`);
      };
      // Anything else (a favicon, a stray request) neither completes nor aborts the login.
      if (url.pathname !== '/callback' || url.searchParams.get('state') !== state) return answer(404, 'Not this login.');
      clearTimeout(timer);
      const error = url.searchParams.get('error');
      const code = url.searchParams.get('code');
      if (error || !code) {
        answer(400, 'The login failed. Return to the terminal.');
        const why = (url.searchParams.get('error_description') ?? '').slice(0, 200);
        reject(new PortcullisError('PCL_ERR_UNAUTHENTICATED', `the provider refused the login: ${(error ?? 'no code').slice(0, 64)}${why ? ` (${why})` : ''}`));
        return;
      }
      answer(200, 'You are logged in to Portcullis. You can close this tab and return to the terminal.');
      resolve(code);
    });
  });
}
