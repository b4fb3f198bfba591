/** The one source of "now", so that time-dependent rules (rate limits, expiry) are testable with a fake clock. */
export interface Clock {
  now(): number;
}

export const CLOCK = Symbol('CLOCK');

export const systemClock: Clock = { now: () => Date.now() };
