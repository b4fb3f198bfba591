import { Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { ApiKeyAuthGuard } from './api-key-auth.guard';
import { MeController } from './me.controller';
import { PlanThrottlerGuard } from './plan-throttler.guard';
import { ScopesGuard } from './scopes.guard';

/**
 * Who is calling and what a route lets them do: the three guards every request passes, in this
 * order — API key (and the per-IP limit on failed attempts), the workspace's plan rate limit, the
 * route's scope — and `GET /v1/me`. The keys themselves live in ApiKeysModule, whose Bearer
 * strategy the key guard runs.
 */
@Module({
  imports: [PlansModule],
  controllers: [MeController],
  providers: [ApiKeyAuthGuard, PlanThrottlerGuard, ScopesGuard],
  exports: [ApiKeyAuthGuard, PlanThrottlerGuard, ScopesGuard],
})
export class AuthModule {}
