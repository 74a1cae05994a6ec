import { createRequire } from 'node:module';
import ssh2 from 'ssh2';
import type { AuthContext, Connection } from 'ssh2';
import type { Logger } from 'pino';
import type { Identity } from '@portcullis/schemas';
import { isIdentityError, type AccessGuard } from '@portcullis/kit';
import { parseLogin, type SshProxyConfig, type SshResource } from './config.ts';
import type { KeyStore } from './key-store.ts';
import type { IdentityVerifier } from './ports.ts';

export interface Authenticated {
  identity: Identity;
  resource: SshResource;
  targetUser: string;
  method: 'password' | 'keyboard-interactive' | 'publickey';
  /** When the access token expires; unset for a public key (registered earlier, with its own lifetime). */
  tokenExpiresAt?: string;
}

const METHODS: AuthContext['method'][] = ['publickey', 'keyboard-interactive', 'password'];

/**
 * Authentication (RFC 4252). The SSH user name says where to go:
 * `<target-user>@<resource>` or `<resource>` (the resource's default user).
 * Who the caller is comes from
 *   - an OIDC access token sent as the password (RFC 4252 §8) or as the
 *     answer to a keyboard-interactive prompt (RFC 4256), or
 *   - a public key an identity registered through POST /keys (RFC 4252 §7;
 *     the signature over the session id is checked here).
 * Refusals are explained in a USERAUTH_BANNER (RFC 4252 §5.4), which OpenSSH
 * prints, since the failure message itself carries no text.
 */
export function attachHandshake(
  conn: Connection,
  deps: { config: SshProxyConfig; verifier: IdentityVerifier; keys: KeyStore; logger: Logger; guard?: Pick<AccessGuard, 'refusal'> },
): () => Authenticated | undefined {
  let authenticated: Authenticated | undefined;
  let failures = 0;

  const refuse = (ctx: AuthContext, why: string): void => {
    failures++;
    deps.logger.info({ login: ctx.username.slice(0, 100), method: ctx.method, why }, 'authentication refused');
    sendAuthBanner(ctx, `portcullis: ${why}\r\n`);
    ctx.reject(METHODS);
  };

  const withToken = async (ctx: AuthContext, token: string, target: { resource: SshResource; targetUser: string }, method: 'password' | 'keyboard-interactive'): Promise<void> => {
    try {
      const { identity, expiresAt } = await deps.verifier.verifyToken(token.trim());
      authenticated = { identity, ...target, method, ...(expiresAt ? { tokenExpiresAt: expiresAt } : {}) };
      ctx.accept();
    } catch (err) {
      const why = isIdentityError(err) || err instanceof Error ? err.message : 'the access token could not be verified';
      refuse(ctx, `access token refused: ${why}`);
    }
  };

  conn.on('authentication', (ctx) => {
    if (failures >= 6) return ctx.reject([]);
    const target = parseLogin(ctx.username, deps.config.resources);
    if ('error' in target) {
      if (ctx.method === 'none') return ctx.reject(METHODS);
      return refuse(ctx, `${target.error}; log in as <target-user>@<resource>@<proxy-host> or <resource>@<proxy-host>`);
    }
    switch (ctx.method) {
      case 'password':
        void withToken(ctx, ctx.password, target, 'password');
        return;
      case 'keyboard-interactive':
        ctx.prompt([{ prompt: 'Portcullis access token: ', echo: false }], 'Portcullis', 'Paste your OIDC access token.', (answers) => {
          void withToken(ctx, answers[0] ?? '', target, 'keyboard-interactive');
        });
        return;
      case 'publickey': {
        const registered = deps.keys.find(ctx.key.data);
        if (!registered) return ctx.reject(METHODS); // quietly: the client tries its next key
        if (!ctx.signature) return ctx.accept(); // "would this key do?" (RFC 4252 §7)
        const key = ssh2.utils.parseKey(ctx.key.data);
        if (key instanceof Error || Array.isArray(key) || !ctx.blob || !key.verify(ctx.blob, ctx.signature, ctx.hashAlgo)) {
          return refuse(ctx, 'public key signature invalid');
        }
        // A registered key stands for the token that registered it: revoked with its identity, and
        // after a restore only a key registered after the revocation opens a session.
        const revoked = deps.guard?.refusal({ identity: registered.identity, issuedAt: registered.addedAt });
        if (revoked) return refuse(ctx, revoked);
        authenticated = { identity: registered.identity, ...target, method: 'publickey' };
        return ctx.accept();
      }
      default:
        return ctx.reject(METHODS);
    }
  });
  return () => authenticated;
}

// ssh2 only sends its static banner; a per-attempt explanation uses its packet writer (SSH_MSG_USERAUTH_BANNER = 53).
const require = createRequire(import.meta.url);
let sendPacket: ((proto: unknown, packet: Buffer) => void) | undefined;
try {
  sendPacket = (require('ssh2/lib/protocol/utils.js') as { sendPacket: typeof sendPacket }).sendPacket;
} catch {
  sendPacket = undefined;
}

function sendAuthBanner(ctx: AuthContext, text: string): void {
  try {
    const proto = (ctx as unknown as { _protocol: { _packetRW: { write: { allocStart: number; alloc(n: number): Buffer; finalize(p: Buffer): Buffer } } } })._protocol;
    if (!sendPacket || !proto?._packetRW) return;
    const safe = text.replace(/[^\x20-\x7e\r\n]/g, '?').slice(0, 1000);
    const len = Buffer.byteLength(safe);
    const w = proto._packetRW.write;
    const p = w.allocStart;
    const packet = w.alloc(1 + 4 + len + 4);
    packet[p] = 53;
    packet.writeUInt32BE(len, p + 1);
    packet.write(safe, p + 5, 'utf8');
    packet.writeUInt32BE(0, p + 5 + len);
    sendPacket(proto, w.finalize(packet));
  } catch {
    // The explanation is a courtesy; the refusal itself stands.
  }
}
