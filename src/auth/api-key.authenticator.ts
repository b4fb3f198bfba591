import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import passport from 'passport';
import { RateLimitedError, UnauthorizedError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { RATE_LIMIT_STORAGE, RateLimitStorage } from '../plans/rate-limit.storage';
import { AuthContext } from './auth-context';

/** The name of the Passport strategy that turns a Bearer key into the caller's AuthContext (src/api-keys). */
export const BEARER_STRATEGY = 'bearer';

const FAILURE_WINDOW_MS = 60_000;

const failuresKey = (request: FastifyRequest) => `auth-failures:${request.ip ?? 'unknown'}`;

/**
 * Resolves the request's API key to the caller's AuthContext (set as `request.user`), from the
 * `Authorization` header alone, before the body is read (authenticateBeforeTheBody). Failed
 * authentications are counted per client IP; past `authFailuresPerMinute` the IP gets 429 until
 * the window ends, without its keys being checked at all, so keys cannot be guessed at speed.
 */
@Injectable()
export class ApiKeyAuthenticator {
  constructor(
    @Inject(RATE_LIMIT_STORAGE) private readonly counters: RateLimitStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<AuthContext> {
    await this.refuseBlockedClient(request);
    try {
      if ((request.query as { access_token?: unknown } | undefined)?.access_token !== undefined) {
        throw new UnauthorizedError('Send the API key in the Authorization header, never in the URL or the body');
      }
      const auth = await this.runBearerStrategy(request, reply);
      (request as { user?: AuthContext }).user = auth;
      return auth;
    } catch (error) {
      if (error instanceof UnauthorizedError) await this.countFailure(request);
      throw error;
    }
  }

  /** 429 for a client IP past its failed attempts (of API keys, or of webhook signatures and hook ids), before any work for it. */
  async refuseBlockedClient(request: FastifyRequest): Promise<void> {
    const failures = await this.counters.peek(failuresKey(request)).catch(() => null);
    if (failures?.isBlocked) throw this.tooManyFailures(failures.timeToBlockExpire);
  }

  /** Counts a failed attempt of the client IP; 429 when that one is past the limit (the caller throws its own error otherwise). */
  async countFailure(request: FastifyRequest): Promise<void> {
    const record = await this.counters
      .increment(failuresKey(request), FAILURE_WINDOW_MS, this.config.authFailuresPerMinute, 0, 'auth-failures')
      .catch(() => null);
    if (record?.isBlocked) throw this.tooManyFailures(record.timeToBlockExpire);
  }

  /** Passport's Bearer strategy (BearerStrategy, in src/api-keys); the body is not read yet, so only the header counts. */
  private runBearerStrategy(request: FastifyRequest, reply: FastifyReply): Promise<AuthContext> {
    return new Promise((resolve, reject) => {
      const done = (error: Error | null | undefined, auth: AuthContext | false) => {
        if (error) reject(error);
        else if (!auth) reject(new UnauthorizedError('Missing or malformed Authorization header: send "Authorization: Bearer tfy_…"'));
        else resolve(auth);
      };
      const middleware = passport.authenticate(BEARER_STRATEGY, { session: false }, done) as (
        req: unknown,
        res: unknown,
        next: (error?: unknown) => void,
      ) => void;
      middleware(request, reply, (error) => done(error as Error | undefined, false));
    });
  }

  private tooManyFailures(retryAfterSeconds: number): RateLimitedError {
    return new RateLimitedError(`Too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s`, retryAfterSeconds, {
      limit: this.config.authFailuresPerMinute,
      windowSeconds: FAILURE_WINDOW_MS / 1000,
      scope: 'client-ip',
    });
  }
}
