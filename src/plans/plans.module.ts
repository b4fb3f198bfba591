import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { Clock, CLOCK } from '../common/clock';
import { RedisConnections } from '../redis/redis.module';
import { RATE_LIMIT_WINDOW_SECONDS } from './rate-limit-headers';
import { MemoryRateLimitStorage, RATE_LIMIT_STORAGE, RateLimitStorage } from './rate-limit.storage';
import { RedisRateLimitStorage } from './redis-rate-limit.storage';
import { PlanThrottlerGuard, WORKSPACE_THROTTLER } from './plan-throttler.guard';

/**
 * Plan-based rate limiting: the throttler (limits resolved per workspace by the guard) and its
 * counter store — in Redis, shared by all instances, when TENSORIFY_REDIS_URL is set; in memory otherwise.
 */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRoot({
      throttlers: [{ name: WORKSPACE_THROTTLER, ttl: RATE_LIMIT_WINDOW_SECONDS * 1000, limit: 1, blockDuration: 0 }],
    }),
  ],
  providers: [
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [RedisConnections, CLOCK],
      useFactory: (redis: RedisConnections, clock: Clock): RateLimitStorage =>
        redis.enabled ? new RedisRateLimitStorage(redis.client()) : new MemoryRateLimitStorage(clock),
    },
    PlanThrottlerGuard,
  ],
  exports: [RATE_LIMIT_STORAGE, PlanThrottlerGuard, ThrottlerModule],
})
export class PlansModule {}
