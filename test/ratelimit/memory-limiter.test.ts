/**
 * The token bucket, exactly, with the time passed in: how many requests a
 * full bucket lets through, when the next token comes back (to the
 * millisecond), what the decision reports, KrakenD's default capacity, and
 * the bounded key map.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateBucketSpec } from '../../src/ratelimit/limiter.js';
import { createMemoryLimiter } from '../../src/ratelimit/memory-limiter.js';

const T0 = 1_800_000_000_000;

describe('memory limiter (token bucket)', () => {
  it('a full bucket of 100 per minute lets exactly 100 through at once, then one more every 600 ms', () => {
    const limiter = createMemoryLimiter({ rate: 100, everyMs: 60_000, capacity: 100 });
    const first = limiter.take('k', T0);
    assert.deepEqual(first, { allowed: true, limit: 100, remaining: 99, resetSeconds: 1 });
    let allowed = 1;
    for (let i = 0; i < 150; i++) if (limiter.take('k', T0).allowed) allowed++;
    assert.equal(allowed, 100);
    assert.deepEqual(limiter.take('k', T0), { allowed: false, limit: 100, remaining: 0, resetSeconds: 60, retryAfterSeconds: 1 });
    assert.equal(limiter.take('k', T0 + 599).allowed, false, '599 ms refill 0.998 of a token');
    assert.deepEqual(limiter.take('k', T0 + 600), { allowed: true, limit: 100, remaining: 0, resetSeconds: 60 });
    assert.equal(limiter.take('k', T0 + 600).allowed, false);
    assert.equal(limiter.take('k', T0 + 1200).allowed, true);
  });

  it('refills at most to capacity, and a bucket larger than the rate allows a burst', () => {
    const limiter = createMemoryLimiter({ rate: 1, everyMs: 1000, capacity: 5 });
    for (let i = 0; i < 5; i++) assert.equal(limiter.take('k', T0).allowed, true, `burst request ${i}`);
    const denied = limiter.take('k', T0);
    assert.deepEqual(denied, { allowed: false, limit: 5, remaining: 0, resetSeconds: 5, retryAfterSeconds: 1 });
    // A long pause refills to 5, not more.
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (limiter.take('k', T0 + 3_600_000).allowed) allowed++;
    assert.equal(allowed, 5);
  });

  it('reports remaining, reset and retry-after from the bucket level (3 per 10 s)', () => {
    const limiter = createMemoryLimiter({ rate: 3, everyMs: 10_000, capacity: 3 });
    assert.deepEqual(limiter.take('k', T0), { allowed: true, limit: 3, remaining: 2, resetSeconds: 4 });
    assert.deepEqual(limiter.take('k', T0), { allowed: true, limit: 3, remaining: 1, resetSeconds: 7 });
    assert.deepEqual(limiter.take('k', T0), { allowed: true, limit: 3, remaining: 0, resetSeconds: 10 });
    assert.deepEqual(limiter.take('k', T0 + 1000), { allowed: false, limit: 3, remaining: 0, resetSeconds: 9, retryAfterSeconds: 3 });
    assert.equal(limiter.take('k', T0 + 3333).allowed, false, '3333 ms refill 9999 of 10000 units');
    assert.equal(limiter.take('k', T0 + 3334).allowed, true);
  });

  it('a clock that steps back refills nothing and drains nothing', () => {
    const limiter = createMemoryLimiter({ rate: 2, everyMs: 1000, capacity: 2 });
    assert.equal(limiter.take('k', T0).allowed, true);
    assert.equal(limiter.take('k', T0 - 60_000).allowed, true);
    assert.equal(limiter.take('k', T0 - 60_000).allowed, false);
    assert.equal(limiter.take('k', T0 + 499).allowed, false);
    assert.equal(limiter.take('k', T0 + 500).allowed, true);
  });

  it('keeps one bucket per key, at most maxKeys of them, forgetting the least recently used', () => {
    const limiter = createMemoryLimiter({ rate: 1, everyMs: 60_000, capacity: 1, maxKeys: 2 });
    assert.equal(limiter.take('a', T0).allowed, true);
    assert.equal(limiter.take('b', T0).allowed, true);
    assert.equal(limiter.take('a', T0).allowed, false, 'a is empty and was just used');
    assert.equal(limiter.take('c', T0).allowed, true, 'c pushes out b, the least recently used');
    assert.equal(limiter.size, 2);
    assert.equal(limiter.take('a', T0).allowed, false, 'a was kept');
    assert.equal(limiter.take('b', T0).allowed, true, 'b was forgotten and starts full again');
  });

  it('sweep forgets buckets that are full again (the same as no bucket)', () => {
    const limiter = createMemoryLimiter({ rate: 10, everyMs: 1000, capacity: 10 });
    limiter.take('idle', T0);
    for (let i = 0; i < 10; i++) limiter.take('busy', T0 + 50);
    assert.equal(limiter.sweep(T0 + 99), 0);
    assert.equal(limiter.sweep(T0 + 100), 1, 'idle refilled its one token in 100 ms');
    assert.equal(limiter.size, 1);
    assert.equal(limiter.sweep(T0 + 1049), 0);
    assert.equal(limiter.sweep(T0 + 1050), 1);
  });

  it('refuses specs that are not positive integers or would overflow exact arithmetic', () => {
    assert.throws(() => validateBucketSpec({ rate: 0, everyMs: 1000, capacity: 1 }), /rate must be a positive integer/);
    assert.throws(() => validateBucketSpec({ rate: 1.5, everyMs: 1000, capacity: 1 }), /rate/);
    assert.throws(() => validateBucketSpec({ rate: 1, everyMs: 0, capacity: 1 }), /everyMs/);
    assert.throws(() => validateBucketSpec({ rate: 1, everyMs: 1000, capacity: Number.NaN }), /capacity/);
    assert.throws(() => validateBucketSpec({ rate: 1, everyMs: 86_400_000 * 365, capacity: 10 ** 8 }), /too large/);
    assert.throws(() => createMemoryLimiter({ rate: 1, everyMs: 1000, capacity: 1, maxKeys: 0 }), /maxKeys/);
  });
});
