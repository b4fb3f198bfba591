import { Module } from '@nestjs/common';
import { Clock, CLOCK } from '../common/clock';
import { RedisConnections, RedisModule } from '../redis/redis.module';
import { MemoryRateLimitStorage, RATE_LIMIT_STORAGE, RateLimitStorage } from './rate-limit.storage';
import { RedisRateLimitStorage } from './redis-rate-limit.storage';

/**
 * What each plan allows and the counters that enforce it: the counters' store (the limits are
 * resolved per workspace by auth's WorkspaceRateLimiter) — in Redis, shared by all instances,
 * when TENSORIFY_REDIS_URL is set; in memory otherwise.
 */
@Module({
  imports: [RedisModule],
  providers: [
    {
      provide: RATE_LIMIT_STORAGE,
      inject: [RedisConnections, CLOCK],
      useFactory: (redis: RedisConnections, clock: Clock): RateLimitStorage =>
        redis.enabled ? new RedisRateLimitStorage(redis.client()) : new MemoryRateLimitStorage(clock),
    },
  ],
  exports: [RATE_LIMIT_STORAGE],
})
export class PlansModule {}
