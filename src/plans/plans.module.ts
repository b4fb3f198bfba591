import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { Clock, CLOCK } from '../common/clock';
import { RedisConnections, RedisModule } from '../redis/redis.module';
import { RATE_LIMIT_WINDOW_SECONDS, WORKSPACE_THROTTLER } from './rate-limit-headers';
import { MemoryRateLimitStorage, RATE_LIMIT_STORAGE, RateLimitStorage } from './rate-limit.storage';
import { RedisRateLimitStorage } from './redis-rate-limit.storage';

/**
 * What each plan allows and the counters that enforce it: the throttler (its limits are resolved
 * per workspace by auth's PlanThrottlerGuard) and its store — in Redis, shared by all instances,
 * when TENSORIFY_REDIS_URL is set; in memory otherwise.
 */
@Module({
  imports: [
    RedisModule,
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
  ],
  exports: [RATE_LIMIT_STORAGE, ThrottlerModule],
})
export class PlansModule {}
