/**
 * Time in tests: a clock the test moves by hand (every component that reads
 * time takes a `Clock`), and the current time in JWT seconds for minting.
 */
import type { Clock } from '../../src/lib/clock.js';

/** Stands still until `advance`; starts at the real time, so tokens minted now are current. */
export class ManualClock implements Clock {
  constructor(private nowMs: number = Date.now()) {}
  now(): number {
    return this.nowMs;
  }
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

/** The real time in seconds, for `iat`, `exp` and `nbf` of tokens minted now. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
