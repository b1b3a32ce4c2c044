/**
 * The log rate limiter with an injected clock and timer: the burst, the
 * steady rate, and one summary a second by key, whether more lines come or
 * not. Lines are counted; nothing sleeps.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLogLimiter } from '../../src/lib/log-limiter.js';

function rig(options: { ratePerSecond?: number; burst?: number } = {}) {
  let now = 1_000_000;
  const summaries: { suppressed: Record<string, number>; total: number }[] = [];
  const timers: (() => void)[] = [];
  const limiter = createLogLimiter({
    ...options,
    clock: { now: () => now },
    schedule: (fn, ms) => {
      assert.equal(ms, 1000);
      timers.push(fn);
    },
    onSuppressed: (suppressed, total) => summaries.push({ suppressed: { ...suppressed }, total }),
  });
  const takeMany = (key: string, count: number): number => {
    let allowed = 0;
    for (let i = 0; i < count; i++) if (limiter.take(key)) allowed++;
    return allowed;
  };
  return { limiter, summaries, timers, takeMany, advance: (ms: number) => void (now += ms) };
}

describe('log limiter', () => {
  it('lets a burst through, then the steady rate, and counts the rest by key', () => {
    const t = rig({ ratePerSecond: 10, burst: 5 });
    assert.equal(t.takeMany('token_expired', 5), 5);
    assert.equal(t.takeMany('token_expired', 100), 0);
    assert.equal(t.takeMany('signature_invalid', 3), 0);
    assert.deepEqual(t.summaries, []);
    t.advance(100); // one token at 10 a second
    assert.equal(t.takeMany('token_expired', 10), 1);
    t.advance(900);
    // A second after the first held-back line: the summary comes first, then the refilled bucket (9 tokens, capped at the burst).
    assert.equal(t.takeMany('key_not_found', 20), 5);
    assert.deepEqual(t.summaries[0], { suppressed: { token_expired: 109, signature_invalid: 3 }, total: 112 });
    assert.equal(t.summaries.length, 1);
  });

  it('never lets more than the burst through after a long quiet spell', () => {
    const t = rig({ ratePerSecond: 10, burst: 5 });
    t.advance(3_600_000);
    assert.equal(t.takeMany('a', 50), 5);
  });

  it('sends at most one summary a second during a long flood, and the sum is every line held back', () => {
    const t = rig({ ratePerSecond: 10, burst: 20 });
    let allowed = 0;
    let offered = 0;
    // Ten seconds of 1,000 denials a second, in 1 ms steps.
    for (let ms = 0; ms < 10_000; ms++) {
      if (t.limiter.take(ms % 2 === 0 ? 'token_expired' : 'signature_invalid')) allowed++;
      offered++;
      t.advance(1);
    }
    t.limiter.flush();
    assert.ok(allowed <= 20 + 10 * 10 + 1, `allowed ${allowed}`);
    assert.ok(allowed >= 20 + 10 * 9, `allowed ${allowed}`);
    assert.ok(t.summaries.length >= 9 && t.summaries.length <= 11, `summaries ${t.summaries.length}`);
    assert.equal(t.summaries.reduce((sum, s) => sum + s.total, 0), offered - allowed);
    for (const summary of t.summaries) assert.equal(summary.total, (summary.suppressed.token_expired ?? 0) + (summary.suppressed.signature_invalid ?? 0));
  });

  it('reports from the timer when no further line comes, once', () => {
    const t = rig({ burst: 1 });
    assert.equal(t.takeMany('token_missing', 4), 1);
    assert.equal(t.timers.length, 1);
    t.timers[0]!();
    assert.deepEqual(t.summaries, [{ suppressed: { token_missing: 3 }, total: 3 }]);
    t.timers[0]!();
    assert.equal(t.summaries.length, 1, 'a timer reports its own second only');
  });

  it('a timer left over from a second already reported does not cut the next one short', () => {
    const t = rig({ burst: 1, ratePerSecond: 1 });
    t.takeMany('a', 2);
    t.advance(1000);
    t.takeMany('b', 3); // reports "a" on the way, takes the refilled token, then holds back two "b"
    assert.deepEqual(t.summaries, [{ suppressed: { a: 1 }, total: 1 }]);
    t.timers[0]!();
    assert.equal(t.summaries.length, 1);
    t.timers[1]!();
    assert.deepEqual(t.summaries[1], { suppressed: { b: 2 }, total: 2 });
  });
});
