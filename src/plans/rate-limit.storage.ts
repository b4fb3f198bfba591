import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { ThrottlerStorage } from '@nestjs/throttler';
import { Clock, CLOCK } from '../common/clock';

/**
 * The counter store of every rate limit, behind one interface: `@nestjs/throttler`'s
 * `increment`, plus `peek` to read a counter without counting a hit (used to refuse a blocked
 * client before doing any work for it). MemoryRateLimitStorage counts per process;
 * RedisRateLimitStorage (chosen by PlansModule when TENSORIFY_REDIS_URL is set) shares the counters
 * between instances, with the same semantics.
 *
 * Windows are fixed: the first hit opens a window of `ttl`; once more than `limit` hits fall in
 * it, the key is blocked until the window ends (or `blockDuration` after the hit, if longer).
 */
export interface ThrottlerStorageRecord {
  totalHits: number;
  /** Seconds until the window ends. */
  timeToExpire: number;
  isBlocked: boolean;
  /** Seconds until the block ends (0 when not blocked). */
  timeToBlockExpire: number;
}

/** What `incrementUnlessBlocked` did: `blocked`, the counter that was blocked (nothing counted); else `counted`, the counter's record after the hit. */
export type IncrementUnlessBlocked = { blocked: ThrottlerStorageRecord; counted?: undefined } | { blocked?: undefined; counted: ThrottlerStorageRecord };

export interface RateLimitStorage extends ThrottlerStorage {
  peek(key: string): Promise<ThrottlerStorageRecord | null>;
  /**
   * `peek(blockKey)` then, unless that counter is blocked, `increment(key, …)`, as one operation
   * (one round trip to Redis): a webhook delivery's client-IP check and its workspace's count.
   */
  incrementUnlessBlocked(blockKey: string, key: string, ttl: number, limit: number, blockDuration: number): Promise<IncrementUnlessBlocked>;
  /**
   * `increment` and `peek` answered at once, by a store whose counters are in this process
   * (MemoryRateLimitStorage); absent for a store that must be asked (Redis). Lets the cached-read
   * edge admit a request without a promise per step (workflows/hot-read.ts).
   */
  readonly inProcess?: {
    increment(key: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord;
    peek(key: string): ThrottlerStorageRecord | null;
  };
}

export const RATE_LIMIT_STORAGE = Symbol('RATE_LIMIT_STORAGE');

interface Counter {
  hits: number;
  windowEndsAt: number;
  blockedUntil: number;
}

const SWEEP_INTERVAL_MS = 60_000;

@Injectable()
export class MemoryRateLimitStorage implements RateLimitStorage, OnModuleDestroy {
  private readonly counters = new Map<string, Counter>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(@Inject(CLOCK) private readonly clock: Clock) {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.sweeper.unref();
  }

  readonly inProcess = {
    increment: (key: string, ttl: number, limit: number, blockDuration: number) => this.incrementNow(key, ttl, limit, blockDuration),
    peek: (key: string) => this.peekNow(key),
  };

  increment(key: string, ttl: number, limit: number, blockDuration: number): Promise<ThrottlerStorageRecord> {
    return Promise.resolve(this.incrementNow(key, ttl, limit, blockDuration));
  }

  peek(key: string): Promise<ThrottlerStorageRecord | null> {
    return Promise.resolve(this.peekNow(key));
  }

  incrementUnlessBlocked(blockKey: string, key: string, ttl: number, limit: number, blockDuration: number): Promise<IncrementUnlessBlocked> {
    const blocking = this.peekNow(blockKey);
    return Promise.resolve(blocking?.isBlocked ? { blocked: blocking } : { counted: this.incrementNow(key, ttl, limit, blockDuration) });
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private incrementNow(key: string, ttl: number, limit: number, blockDuration: number): ThrottlerStorageRecord {
    const now = this.clock.now();
    let counter = this.live(key, now);
    if (!counter) {
      counter = { hits: 0, windowEndsAt: now + ttl, blockedUntil: 0 };
      this.counters.set(key, counter);
    }
    counter.hits += 1;
    if (counter.hits > limit) {
      if (counter.blockedUntil <= now) counter.blockedUntil = Math.max(counter.windowEndsAt, now + blockDuration);
    } else if (blockDuration === 0) {
      // Without a block duration a block only means "over the limit in this window": a limit
      // raised since (a plan upgrade) lifts it from the next request on.
      counter.blockedUntil = 0;
    }
    return this.record(counter, now);
  }

  private peekNow(key: string): ThrottlerStorageRecord | null {
    const now = this.clock.now();
    const counter = this.live(key, now);
    return counter ? this.record(counter, now) : null;
  }

  private live(key: string, now: number): Counter | undefined {
    const counter = this.counters.get(key);
    if (counter && counter.windowEndsAt <= now && counter.blockedUntil <= now) {
      this.counters.delete(key);
      return undefined;
    }
    return counter;
  }

  private record(counter: Counter, now: number): ThrottlerStorageRecord {
    const isBlocked = counter.blockedUntil > now;
    return {
      totalHits: counter.hits,
      timeToExpire: Math.max(0, Math.ceil((counter.windowEndsAt - now) / 1000)),
      isBlocked,
      timeToBlockExpire: isBlocked ? Math.ceil((counter.blockedUntil - now) / 1000) : 0,
    };
  }

  private sweep(): void {
    const now = this.clock.now();
    for (const key of this.counters.keys()) this.live(key, now);
  }
}
