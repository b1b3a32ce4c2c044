/**
 * The IETF RateLimit fields (draft-ietf-httpapi-ratelimit-headers-11 syntax)
 * built from decisions: exact field values, String escaping, whole-second
 * windows, Retry-After on refusals and no RateLimit field for a degraded
 * decision (there is no real count to report).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rateLimitHeader, rateLimitHeaders, rateLimitPolicyHeader } from '../../src/ratelimit/headers.js';
import { createMemoryLimiter } from '../../src/ratelimit/memory-limiter.js';

const T0 = 1_800_000_000_000;

describe('RateLimit header fields', () => {
  it('RateLimit-Policy lists each policy as a String item with q and w', () => {
    assert.equal(rateLimitPolicyHeader([{ name: 'default', quota: 100, windowMs: 60_000 }]), '"default";q=100;w=60');
    assert.equal(
      rateLimitPolicyHeader([
        { name: 'permin', quota: 50, windowMs: 60_000 },
        { name: 'perhr', quota: 1000, windowMs: 3_600_000 },
      ]),
      '"permin";q=50;w=60, "perhr";q=1000;w=3600',
    );
    assert.equal(rateLimitPolicyHeader([{ name: 'fast', quota: 5, windowMs: 250 }]), '"fast";q=5;w=1', 'windows are whole seconds, at least 1');
    assert.equal(rateLimitPolicyHeader([{ name: 'a"b\\c', quota: 1, windowMs: 1000 }]), '"a\\"b\\\\c";q=1;w=1');
    assert.throws(() => rateLimitPolicyHeader([{ name: 'naïve', quota: 1, windowMs: 1000 }]), /printable ASCII/);
  });

  it('RateLimit carries the remaining count and the seconds until the bucket is full', () => {
    const limiter = createMemoryLimiter({ rate: 100, everyMs: 60_000, capacity: 100 });
    for (let i = 0; i < 57; i++) limiter.take('k', T0);
    const decision = limiter.take('k', T0);
    assert.equal(rateLimitHeader('default', decision), '"default";r=42;t=35');
    assert.deepEqual(rateLimitHeaders({ name: 'default', quota: 100, windowMs: 60_000 }, decision), {
      'ratelimit-policy': '"default";q=100;w=60',
      ratelimit: '"default";r=42;t=35',
    });
  });

  it('a refusal gets Retry-After, and t is the same wait (Retry-After must not end before the window)', () => {
    const limiter = createMemoryLimiter({ rate: 1, everyMs: 10_000, capacity: 1 });
    limiter.take('k', T0);
    const denied = limiter.take('k', T0 + 2500);
    assert.equal(denied.allowed, false);
    assert.deepEqual(rateLimitHeaders({ name: 'client', quota: 1, windowMs: 10_000 }, denied), {
      'ratelimit-policy': '"client";q=1;w=10',
      ratelimit: '"client";r=0;t=8',
      'retry-after': '8',
    });
  });

  it('a degraded decision gets the policy but no RateLimit field', () => {
    const degraded = { allowed: true, limit: 10, remaining: 10, resetSeconds: 0, degraded: true, reason: 'redis_timeout' } as const;
    assert.equal(rateLimitHeader('default', degraded), undefined);
    assert.deepEqual(rateLimitHeaders({ name: 'default', quota: 10, windowMs: 1000 }, degraded), { 'ratelimit-policy': '"default";q=10;w=1' });
    const refused = { allowed: false, limit: 10, remaining: 0, resetSeconds: 0, retryAfterSeconds: 1, degraded: true, reason: 'redis_timeout' } as const;
    assert.deepEqual(rateLimitHeaders({ name: 'default', quota: 10, windowMs: 1000 }, refused), { 'ratelimit-policy': '"default";q=10;w=1', 'retry-after': '1' });
  });
});
