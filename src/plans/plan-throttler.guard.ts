import { ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { getOptionsToken, ThrottlerGuard, ThrottlerModuleOptions } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { authContextOf } from '../auth/auth-context';
import { RateLimitedError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { rateLimitPerMinute } from './plans';
import { setRateLimitHeaders } from './rate-limit-headers';
import { RATE_LIMIT_STORAGE, RateLimitStorage } from './rate-limit.storage';

export const WORKSPACE_THROTTLER = 'workspace';

/**
 * Counts every authenticated request against its workspace's plan (free 60, pro 300 per minute,
 * enterprise its own), across all keys of the workspace. Sets the rate-limit headers on every
 * authenticated response and refuses with 429 `RATE_LIMITED` and `Retry-After` past the limit.
 * Unauthenticated (public) routes are not counted here; failed authentications are limited per
 * IP by the auth guard. If the counter store fails (Redis down or not answering in time), the
 * request is let through uncounted and without rate-limit headers (fail open), and a warning is
 * logged once per outage: an outage of the store must not take the API down.
 *
 * There is one throttler, keyed by workspace, so the base class's per-route overrides
 * (`@Throttle`, `@SkipThrottle`) do not apply and their metadata is not read on each request.
 */
@Injectable()
export class PlanThrottlerGuard extends ThrottlerGuard {
  private readonly log = new Logger(PlanThrottlerGuard.name);
  /** Set while the counter store fails, so that an outage is logged once, not once per request. */
  private storeFailing = false;

  constructor(
    @Inject(getOptionsToken()) options: ThrottlerModuleOptions,
    @Inject(RATE_LIMIT_STORAGE) storage: RateLimitStorage,
    reflector: Reflector,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super(options, storage, reflector);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const auth = authContextOf(req);
    if (!auth) return true;
    const { workspace } = auth;
    const [throttler] = this.throttlers;
    const ttl = throttler.ttl as number;
    const limit = rateLimitPerMinute(workspace, this.config.enterpriseRateLimitPerMinute);
    let record;
    try {
      record = await this.storageService.increment(
        `${WORKSPACE_THROTTLER}:${workspace.id}`,
        ttl,
        limit,
        (throttler.blockDuration as number) ?? 0,
        throttler.name!,
      );
    } catch (error) {
      if (!this.storeFailing) this.log.warn({ err: error }, 'Rate-limit store failed; letting requests through uncounted until it is back');
      this.storeFailing = true;
      return true;
    }
    if (this.storeFailing) this.log.log('Rate-limit store is back; counting requests again');
    this.storeFailing = false;
    const resetSeconds = record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
    const reply = context.switchToHttp().getResponse<FastifyReply>();
    setRateLimitHeaders(reply, WORKSPACE_THROTTLER, limit, Math.max(0, limit - record.totalHits), resetSeconds);
    if (record.isBlocked) {
      throw new RateLimitedError(`Rate limit of ${limit} requests per minute reached for workspace ${workspace.id}; retry in ${resetSeconds} s`, resetSeconds, {
        limit,
        windowSeconds: ttl / 1000,
        plan: workspace.plan,
      });
    }
    return true;
  }
}
