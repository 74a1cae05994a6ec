import { randomFillSync } from 'node:crypto';

/**
 * Time-ordered event and command ids: UUIDv7 (RFC 9562 §5.7) — 48 bits of
 * Unix milliseconds, then a 12-bit counter (method 1 of §6.2: seeded at
 * random each millisecond, incremented within it, so ids made in the same
 * millisecond still sort in creation order), then 62 random bits.
 *
 * Every command costs several ids on the proxies' hot path, so the random
 * bytes come from a pool filled 4 KiB at a time instead of one system call
 * per id (the uuid package's v7 asks the CSPRNG for 16 bytes each time; it
 * showed at 3% of a proxy's profile).
 */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;

function randomBytes(n: number): Buffer {
  if (poolAt + n > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
let lastMs = -1;
let counter = 0;

export function newId(): string {
  let ms = Date.now();
  const random = randomBytes(10);
  if (ms > lastMs) {
    lastMs = ms;
    // Seeded below 2^11, so a millisecond has at least 2,048 increments before the counter runs out.
    counter = ((random[0]! & 0x07) << 8) | random[1]!;
  } else {
    // The same millisecond (or the clock stepped back): count on; when the counter is spent, borrow the next millisecond.
    counter++;
    if (counter > 0xfff) {
      lastMs++;
      counter = 0;
    }
    ms = lastMs;
  }
  const b = new Uint8Array(16);
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  b[6] = 0x70 | (counter >>> 8); // version 7
  b[7] = counter & 0xff;
  b[8] = 0x80 | (random[2]! & 0x3f); // variant 10
  for (let i = 9; i < 16; i++) b[i] = random[i - 6]!;
  let s = '';
  for (let i = 0; i < 16; i++) {
    s += HEX[b[i]!];
    if (i === 3 || i === 5 || i === 7 || i === 9) s += '-';
  }
  return s;
}

export const nowIso = (): string => new Date().toISOString();
