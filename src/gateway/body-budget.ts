/**
 * The bytes of backend answers that merging endpoints hold in memory, counted
 * across every request in flight (`max_buffered_bytes`). A per-backend limit
 * alone leaves memory unbounded under concurrency: 16 requests reading 60 MB
 * answers at once reached 6 GB. Bytes are taken as they arrive and given back
 * when the call fails or the endpoint's answer has been written; a call whose
 * next chunk does not fit fails instead of waiting, since waiting would only
 * turn memory pressure into timeouts.
 */

export class BodyBudget {
  readonly maxBytes: number;
  #inUse = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  /** Bytes taken and not yet given back. */
  get inUse(): number {
    return this.#inUse;
  }

  /** Takes `bytes` if they fit; when they do not, takes nothing and returns false. */
  tryTake(bytes: number): boolean {
    if (this.#inUse + bytes > this.maxBytes) return false;
    this.#inUse += bytes;
    return true;
  }

  /** Gives back bytes taken earlier; each taker gives back exactly what it took, once (tests check the count returns to 0). */
  give(bytes: number): void {
    this.#inUse -= bytes;
  }
}

export function createBodyBudget(maxBytes: number): BodyBudget {
  return new BodyBudget(maxBytes);
}
