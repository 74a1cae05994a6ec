/** newId: UUIDv7 per RFC 9562, time-ordered, unique. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { newId } from '../src/ids.ts';

describe('newId', () => {
  it('is a UUID of version 7 and variant 10 that zod accepts', () => {
    const id = newId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.ok(z.string().uuid().safeParse(id).success);
  });

  it('carries the time it was made in its first 48 bits', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(ms >= before && ms <= after + 1, `${ms} not in [${before}, ${after}]`);
  });

  it('given many ids made in a burst (many per millisecond), then they are unique and sort in creation order', () => {
    const ids = Array.from({ length: 50_000 }, () => newId());
    assert.equal(new Set(ids).size, ids.length);
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1]! < ids[i]!, `${ids[i - 1]} !< ${ids[i]} at ${i}`);
  });

  it('random bits differ between ids (not a counter alone)', () => {
    const tails = new Set(Array.from({ length: 1000 }, () => newId().slice(-12)));
    assert.equal(tails.size, 1000);
  });
});
