import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isIdentityError } from '@portcullis/kit';
import type { Identity } from '@portcullis/schemas';
import type { KeyStore, StoredKey } from './key-store.ts';
import type { IdentityVerifier } from './ports.ts';

/**
 * A small HTTP API for identities to register the SSH public keys they log in with:
 *   POST   /keys                  body: the OpenSSH public key line (text/plain) or {"publicKey": "…"}
 *   GET    /keys                  the caller's keys
 *   DELETE /keys/<fingerprint>    removes one (fingerprint URL-encoded)
 * Every request carries `Authorization: Bearer <OIDC access token>`.
 * Responses never echo the token.
 */
export function createKeysApi(deps: { store: KeyStore; verifier: IdentityVerifier; keyTtlSeconds: number; logger: Logger }): {
  listen(port: number, host: string): Promise<{ port: number }>;
  close(): Promise<void>;
} {
  const { store, verifier, logger } = deps;
  const view = (k: StoredKey) => ({ fingerprint: k.fingerprint, publicKey: k.publicKey, comment: k.comment, subject: k.identity.subject, addedAt: k.addedAt, expiresAt: k.expiresAt });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/keys')) return send(404, { error: 'not found' });
    const auth = req.headers.authorization ?? '';
    const token = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    if (!token) return send(401, { error: 'send an OIDC access token: Authorization: Bearer <token>' });
    let identity: Identity;
    try {
      ({ identity } = await verifier.verifyToken(token.trim()));
    } catch (err) {
      return send(isIdentityError(err) && (err as { reason?: string }).reason === 'issuer_unavailable' ? 503 : 401, { error: (err as Error).message });
    }
    if (req.method === 'GET' && url.pathname === '/keys') return send(200, { keys: store.list(identity.subject).map(view) });
    if (req.method === 'DELETE' && url.pathname.startsWith('/keys/')) {
      const fingerprint = decodeURIComponent(url.pathname.slice('/keys/'.length));
      return store.remove(identity.subject, fingerprint) ? send(204, {}) : send(404, { error: 'no such key for this identity' });
    }
    if (req.method === 'POST' && url.pathname === '/keys') {
      const body = await readBody(req, 16 * 1024);
      if (body === undefined) return send(413, { error: 'body too large' });
      let line = body;
      if ((req.headers['content-type'] ?? '').includes('json')) {
        try {
          line = String((JSON.parse(body) as { publicKey?: unknown }).publicKey ?? '');
        } catch {
          return send(400, { error: 'invalid JSON' });
        }
      }
      try {
        const entry = store.add(line, identity, deps.keyTtlSeconds);
        logger.info({ subject: identity.subject, fingerprint: entry.fingerprint }, 'public key registered');
        return send(201, view(entry));
      } catch (err) {
        return send(400, { error: (err as Error).message });
      }
    }
    return send(405, { error: 'method not allowed' });
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      logger.error({ err: err.message }, 'keys API request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve({ port: (server.address() as AddressInfo).port }));
      }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        resolve(undefined);
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
