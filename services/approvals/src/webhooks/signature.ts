/**
 * Webhook signatures, after Stripe's scheme:
 *
 *   Portcullis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * The timestamp is signed with the body, so a receiver that refuses old
 * timestamps (default tolerance 5 minutes) also refuses replays. Several v1
 * values may appear while a secret is being rotated; one match is enough.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'portcullis-signature';
export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const EVENT_TYPE_HEADER = 'portcullis-event-type';

export function signPayload(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'too_old' | 'mismatch' };

/** What a receiver runs on the raw request body (before any JSON parsing). */
export function verifySignature(secret: string, body: string, header: string | undefined, options: { toleranceSeconds?: number; now?: number } = {}): SignatureCheck {
  if (!header) return { ok: false, reason: 'malformed' };
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = Number(parts.find(([k]) => k === 't')?.[1]);
  const candidates = parts.filter(([k, v]) => k === 'v1' && v && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => Buffer.from(v!, 'hex'));
  if (!Number.isInteger(t) || candidates.length === 0) return { ok: false, reason: 'malformed' };
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - t) > (options.toleranceSeconds ?? 300)) return { ok: false, reason: 'too_old' };
  const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest();
  return candidates.some((c) => timingSafeEqual(c, expected)) ? { ok: true, timestamp: t } : { ok: false, reason: 'mismatch' };
}
