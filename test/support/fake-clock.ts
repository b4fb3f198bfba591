import type { Clock } from '../../src/common/clock';

/** A clock that moves only when told to: rate-limit windows and expiry are tested without sleeping. */
export class FakeClock implements Clock {
  constructor(private current = Date.parse('2026-11-28T12:00:00.000Z')) {}

  now(): number {
    return this.current;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
