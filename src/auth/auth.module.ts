import { Module } from '@nestjs/common';
import { PlansModule } from '../plans/plans.module';
import { ApiKeyAuthenticator } from './api-key.authenticator';
import { MeController } from './me.controller';
import { ScopesGuard } from './scopes.guard';
import { WorkspaceRateLimiter } from './workspace-rate.limiter';

/**
 * Who is calling and what a route lets them do, in this order: before the body is read
 * (authenticateBeforeTheBody, Fastify's onRequest), the API key (and the per-IP limit on failed
 * attempts) and the workspace's plan rate limit; then, in Nest's guard chain, the route's scope.
 * Also `GET /v1/me`. The keys themselves live in ApiKeysModule, which provides the authenticator's
 * API_KEY_VERIFIER.
 */
@Module({
  imports: [PlansModule],
  controllers: [MeController],
  providers: [ApiKeyAuthenticator, WorkspaceRateLimiter, ScopesGuard],
  exports: [ApiKeyAuthenticator, WorkspaceRateLimiter, ScopesGuard],
})
export class AuthModule {}
