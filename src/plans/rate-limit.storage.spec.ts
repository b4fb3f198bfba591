import type { Clock } from '../common/clock';
import { MemoryRateLimitStorage, RateLimitStorage } from './rate-limit.storage';

/** A clock that moves only when told to (src/ cannot import test/support/fake-clock.ts: its own tsconfig root). */
class SteppedClock implements Clock {
  private current = Date.parse('2026-11-28T12:00:00.000Z');
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** A storage under test and the way time passes for it. */
export interface StorageUnderTest {
  storage: RateLimitStorage;
  /**
   * Lets at least `ms` pass: a fake clock jumps, real time (Redis) is waited for. The steps of the
   * cases leave 100 ms or more of margin around every boundary, so both kinds pass the same cases.
   */
  advance(ms: number): Promise<void>;
}

/**
 * The semantics every RateLimitStorage must have, run against each implementation: this file
 * for the memory one, test/integration/rate-limits.int-spec.ts for the Redis one.
 */
export function rateLimitStorageCases(make: () => StorageUnderTest | Promise<StorageUnderTest>): void {
  let t: StorageUnderTest;
  let keys = 0;
  const key = (name: string) => `case:${process.pid}:${Date.now()}:${++keys}:${name}`;
  const block = (timeToBlockExpire: number) => ({ isBlocked: true, timeToBlockExpire });
  const open = { isBlocked: false, timeToBlockExpire: 0 };

  beforeEach(async () => {
    t = await make();
  });

  it('opens a window of ttl with the first hit', async () => {
    expect(await t.storage.increment(key('first'), 60_000, 3, 0, 'test')).toEqual({ totalHits: 1, timeToExpire: 60, ...open });
  });

  it('counts hits up to the limit and blocks the next one until the window ends', async () => {
    const k = key('limit');
    for (let hits = 1; hits <= 3; hits++) {
      expect(await t.storage.increment(k, 60_000, 3, 0, 'test')).toEqual({ totalHits: hits, timeToExpire: 60, ...open });
    }
    expect(await t.storage.increment(k, 60_000, 3, 0, 'test')).toEqual({ totalHits: 4, timeToExpire: 60, ...block(60) });
    expect(await t.storage.increment(k, 60_000, 3, 0, 'test')).toEqual({ totalHits: 5, timeToExpire: 60, ...block(60) });
  });

  it('peeks without counting: null for an unknown key, the record otherwise', async () => {
    const k = key('peek');
    expect(await t.storage.peek(k)).toBeNull();
    await t.storage.increment(k, 60_000, 1, 0, 'test');
    expect(await t.storage.peek(k)).toEqual({ totalHits: 1, timeToExpire: 60, ...open });
    expect(await t.storage.peek(k)).toEqual({ totalHits: 1, timeToExpire: 60, ...open });
    await t.storage.increment(k, 60_000, 1, 0, 'test');
    expect(await t.storage.peek(k)).toEqual({ totalHits: 2, timeToExpire: 60, ...block(60) });
    expect(await t.storage.increment(k, 60_000, 1, 0, 'test')).toMatchObject({ totalHits: 3 });
  });

  it('forgets the counter and its block when the window ends; the next hit opens a new window', async () => {
    const k = key('expiry');
    for (let i = 0; i < 3; i++) await t.storage.increment(k, 1000, 2, 0, 'test');
    await t.advance(500);
    expect(await t.storage.peek(k)).toEqual({ totalHits: 3, timeToExpire: 1, ...block(1) });
    await t.advance(500);
    expect(await t.storage.peek(k)).toBeNull();
    expect(await t.storage.increment(k, 1000, 2, 0, 'test')).toEqual({ totalHits: 1, timeToExpire: 1, ...open });
  });

  it('blocks for blockDuration when it outlasts the window, still counting and without extending the block', async () => {
    const k = key('block-duration');
    expect(await t.storage.increment(k, 500, 1, 1500, 'test')).toEqual({ totalHits: 1, timeToExpire: 1, ...open });
    expect(await t.storage.increment(k, 500, 1, 1500, 'test')).toEqual({ totalHits: 2, timeToExpire: 1, ...block(2) });
    await t.advance(700);
    expect(await t.storage.peek(k)).toEqual({ totalHits: 2, timeToExpire: 0, ...block(1) });
    expect(await t.storage.increment(k, 500, 1, 1500, 'test')).toEqual({ totalHits: 3, timeToExpire: 0, ...block(1) });
    await t.advance(900);
    expect(await t.storage.peek(k)).toBeNull();
    expect(await t.storage.increment(k, 500, 1, 1500, 'test')).toEqual({ totalHits: 1, timeToExpire: 1, ...open });
  });

  it('lifts a block of blockDuration 0 from the first hit within a raised limit', async () => {
    const k = key('raised');
    for (let i = 0; i < 3; i++) await t.storage.increment(k, 60_000, 2, 0, 'test');
    expect(await t.storage.peek(k)).toMatchObject(block(60));
    expect(await t.storage.increment(k, 60_000, 10, 0, 'test')).toEqual({ totalHits: 4, timeToExpire: 60, ...open });
    expect(await t.storage.increment(k, 60_000, 2, 0, 'test')).toEqual({ totalHits: 5, timeToExpire: 60, ...block(60) });
  });

  it('keeps a block of a non-zero blockDuration until it ends, even within a raised limit', async () => {
    const k = key('kept');
    await t.storage.increment(k, 60_000, 1, 120_000, 'test');
    expect(await t.storage.increment(k, 60_000, 1, 120_000, 'test')).toEqual({ totalHits: 2, timeToExpire: 60, ...block(120) });
    expect(await t.storage.increment(k, 60_000, 10, 120_000, 'test')).toEqual({ totalHits: 3, timeToExpire: 60, ...block(120) });
  });

  it('keeps keys independent', async () => {
    const [a, b] = [key('a'), key('b')];
    await t.storage.increment(a, 60_000, 1, 0, 'test');
    await t.storage.increment(a, 60_000, 1, 0, 'test');
    expect(await t.storage.peek(b)).toBeNull();
    expect(await t.storage.increment(b, 60_000, 1, 0, 'test')).toEqual({ totalHits: 1, timeToExpire: 60, ...open });
  });

  it('increments a counter unless another is blocked: then answers with that one and counts nothing', async () => {
    const [blocking, counted] = [key('blocking'), key('counted')];
    expect(await t.storage.incrementUnlessBlocked(blocking, counted, 60_000, 2, 0)).toEqual({ counted: { totalHits: 1, timeToExpire: 60, ...open } });
    await t.storage.increment(blocking, 30_000, 1, 0, 'test');
    expect(await t.storage.incrementUnlessBlocked(blocking, counted, 60_000, 2, 0)).toEqual({ counted: { totalHits: 2, timeToExpire: 60, ...open } });
    await t.storage.increment(blocking, 30_000, 1, 0, 'test');
    expect(await t.storage.incrementUnlessBlocked(blocking, counted, 60_000, 2, 0)).toEqual({ blocked: { totalHits: 2, timeToExpire: 30, ...block(30) } });
    expect(await t.storage.peek(counted)).toEqual({ totalHits: 2, timeToExpire: 60, ...open });
    expect(await t.storage.incrementUnlessBlocked(key('other'), counted, 60_000, 2, 0)).toEqual({ counted: { totalHits: 3, timeToExpire: 60, ...block(60) } });
  });

  it('counts concurrent hits exactly: each gets its own count, exactly `limit` of them pass', async () => {
    const k = key('concurrent');
    const records = await Promise.all(Array.from({ length: 50 }, () => t.storage.increment(k, 60_000, 20, 0, 'test')));
    expect(records.map((r) => r.totalHits).sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(records.filter((r) => !r.isBlocked)).toHaveLength(20);
    expect(records.filter((r) => r.isBlocked).every((r) => r.totalHits > 20)).toBe(true);
  });
}

describe('MemoryRateLimitStorage', () => {
  const made: MemoryRateLimitStorage[] = [];
  afterEach(() => made.splice(0).forEach((storage) => storage.onModuleDestroy()));

  rateLimitStorageCases(() => {
    const clock = new SteppedClock();
    const storage = new MemoryRateLimitStorage(clock);
    made.push(storage);
    return {
      storage,
      advance: (ms) => {
        clock.advance(ms);
        return Promise.resolve();
      },
    };
  });
});
