/** Time source in milliseconds; injected everywhere so tests never patch globals. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });
