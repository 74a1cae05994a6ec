import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * SCRAM-SHA-256 client (RFC 5802 §3, RFC 7677), as PostgreSQL uses it —
 * docs "SASL Authentication" (sasl-authentication.html). No channel binding
 * (gs2 header "n,,"); the user name in the messages is empty because
 * PostgreSQL takes it from the StartupMessage.
 */
export interface ScramClient {
  /** client-first-message, sent in SASLInitialResponse. */
  readonly clientFirst: string;
  /** Consumes server-first-message, returns client-final-message. */
  final(serverFirst: string): string;
  /** Checks the server's signature in server-final-message (mutual authentication). */
  verifyServer(serverFinal: string): void;
}

const hmac = (key: Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer): Buffer => createHash('sha256').update(data).digest();

function attributes(message: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) out.set(part[0]!, part.slice(2));
  }
  return out;
}

export function createScramClient(password: string, clientNonce = randomBytes(18).toString('base64')): ScramClient {
  const clientFirstBare = `n=*,r=${clientNonce}`;
  let serverSignature: Buffer | undefined;
  return {
    clientFirst: `n,,${clientFirstBare}`,
    final(serverFirst: string): string {
      const attrs = attributes(serverFirst);
      const nonce = attrs.get('r');
      const salt = attrs.get('s');
      const iterations = Number(attrs.get('i'));
      if (!nonce || !nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) throw new Error('SCRAM: server nonce does not extend the client nonce');
      if (!salt) throw new Error('SCRAM: server-first-message has no salt');
      if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) throw new Error('SCRAM: invalid iteration count');
      // RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i); Hi is PBKDF2 with HMAC.
      // PostgreSQL falls back to the raw bytes when SASLprep does not apply, as libpq and node-postgres do here.
      const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
      const clientKey = hmac(saltedPassword, 'Client Key');
      const storedKey = sha256(clientKey);
      const clientFinalWithoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
      serverSignature = hmac(hmac(saltedPassword, 'Server Key'), authMessage);
      return `${clientFinalWithoutProof},p=${proof.toString('base64')}`;
    },
    verifyServer(serverFinal: string): void {
      const attrs = attributes(serverFinal);
      if (attrs.has('e')) throw new Error(`SCRAM: server reported ${attrs.get('e')}`);
      const v = attrs.get('v');
      if (!serverSignature || !v) throw new Error('SCRAM: server-final-message has no signature');
      const got = Buffer.from(v, 'base64');
      if (got.length !== serverSignature.length || !timingSafeEqual(got, serverSignature)) throw new Error('SCRAM: the server signature does not match (not the expected server)');
    },
  };
}

/** AuthenticationMD5Password answer: "md5" + md5(md5(password ‖ user) ‖ salt) — docs "Password Authentication". */
export function md5PasswordResponse(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user, 'utf8').digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner, 'latin1'), salt])).digest('hex');
}
