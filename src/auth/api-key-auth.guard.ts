import { ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { RateLimitedError, UnauthorizedError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { RATE_LIMIT_STORAGE, RateLimitStorage } from '../plans/rate-limit.storage';
import { AuthContext } from './auth-context';
import { BEARER_STRATEGY } from './bearer.strategy';
import { routePolicy } from './route-policy';

const FAILURE_WINDOW_MS = 60_000;

/**
 * Global guard: every route needs a valid API key unless marked `@Public()`. Failed
 * authentications are counted per client IP; past `authFailuresPerMinute` the IP gets 429 until
 * the window ends, without its keys being checked at all, so keys cannot be guessed at speed.
 */
@Injectable()
export class ApiKeyAuthGuard extends AuthGuard(BEARER_STRATEGY) {
  constructor(
    private readonly reflector: Reflector,
    @Inject(RATE_LIMIT_STORAGE) private readonly counters: RateLimitStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    if (routePolicy(this.reflector, context).isPublic) return true;
    const req = context.switchToHttp().getRequest<FastifyRequest>();
    const failuresKey = `auth-failures:${req.ip ?? 'unknown'}`;
    const failures = await this.counters.peek(failuresKey).catch(() => null);
    if (failures?.isBlocked) throw this.tooManyFailures(failures.timeToBlockExpire);
    try {
      const query = req.query as { access_token?: unknown } | undefined;
      if (query?.access_token !== undefined || (req.body as { access_token?: unknown } | undefined)?.access_token !== undefined) {
        throw new UnauthorizedError('Send the API key in the Authorization header, never in the URL or the body');
      }
      return (await super.canActivate(context)) as boolean;
    } catch (error) {
      if (!(error instanceof UnauthorizedError)) throw error;
      const record = await this.counters.increment(failuresKey, FAILURE_WINDOW_MS, this.config.authFailuresPerMinute, 0, 'auth-failures').catch(() => null);
      if (record?.isBlocked) throw this.tooManyFailures(record.timeToBlockExpire);
      throw error;
    }
  }

  override handleRequest<T = AuthContext>(error: unknown, auth: T | false): T {
    if (error) throw error;
    if (!auth) {
      throw new UnauthorizedError('Missing or malformed Authorization header: send "Authorization: Bearer tfy_…"');
    }
    return auth;
  }

  private tooManyFailures(retryAfterSeconds: number): RateLimitedError {
    return new RateLimitedError(`Too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s`, retryAfterSeconds, {
      limit: this.config.authFailuresPerMinute,
      windowSeconds: FAILURE_WINDOW_MS / 1000,
      scope: 'client-ip',
    });
  }
}
