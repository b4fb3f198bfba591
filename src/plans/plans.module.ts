import { Global, Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { RATE_LIMIT_WINDOW_SECONDS } from './rate-limit-headers';
import { MemoryRateLimitStorage, RATE_LIMIT_STORAGE } from './rate-limit.storage';
import { PlanThrottlerGuard, WORKSPACE_THROTTLER } from './plan-throttler.guard';

/** Plan-based rate limiting: the throttler (limits resolved per workspace by the guard) and its counter store. */
@Global()
@Module({
  imports: [
    ThrottlerModule.forRoot({
      throttlers: [{ name: WORKSPACE_THROTTLER, ttl: RATE_LIMIT_WINDOW_SECONDS * 1000, limit: 1, blockDuration: 0 }],
    }),
  ],
  providers: [{ provide: RATE_LIMIT_STORAGE, useClass: MemoryRateLimitStorage }, PlanThrottlerGuard],
  exports: [RATE_LIMIT_STORAGE, PlanThrottlerGuard, ThrottlerModule],
})
export class PlansModule {}
