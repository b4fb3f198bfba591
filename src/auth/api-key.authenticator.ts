import { Inject, Injectable } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { RateLimitedError, UnauthorizedError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { RATE_LIMIT_STORAGE, RateLimitStorage } from '../plans/rate-limit.storage';
import { AuthContext } from './auth-context';
import type { BlockingCounter } from './workspace-rate.limiter';

/** Resolves a presented API key secret to the caller, or throws UnauthorizedError saying why. */
export interface ApiKeyVerifier {
  authenticate(secret: string): Promise<AuthContext>;
  /** The caller at once when the secret is of a live key held in memory; undefined otherwise (then `authenticate` decides). */
  authenticateCached(secret: string): AuthContext | undefined;
}

/** The ApiKeyVerifier, provided by ApiKeysModule (src/api-keys: ApiKeysService), a layer above this one. */
export const API_KEY_VERIFIER = Symbol('API_KEY_VERIFIER');

const FAILURE_WINDOW_MS = 60_000;
const BEARER_SCHEME = /^Bearer /i;
const BEARER_SCHEME_LENGTH = 'Bearer '.length;

/**
 * The credentials of `Authorization: Bearer <credentials>` (RFC 6750: the scheme in any case, one
 * space), '' when there are none, undefined when the header is not of that form. Read in place,
 * without splitting the header into an array (it runs on every request).
 */
export function bearerCredentials(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header === '') return '';
  return BEARER_SCHEME.test(header) && header.indexOf(' ', BEARER_SCHEME_LENGTH) === -1 ? header.slice(BEARER_SCHEME_LENGTH) : undefined;
}

/** What authentication reads of a request: a FastifyRequest, or the raw request as the cached-read edge sees it (workflows/hot-read.ts). */
export type CredentialsOf = Pick<FastifyRequest, 'ip' | 'headers' | 'query'>;

/** The failure counter's key of the last client IP (a keep-alive connection's requests come from one): not a new string, hashed again, per request. */
let lastFailures = { ip: '', key: 'auth-failures:' };

function failuresKey(request: Pick<CredentialsOf, 'ip'>): string {
  const ip = request.ip ?? 'unknown';
  if (ip !== lastFailures.ip) lastFailures = { ip, key: `auth-failures:${ip}` };
  return lastFailures.key;
}

/**
 * Resolves the request's API key to the caller's AuthContext (set as `request.user`), from the
 * `Authorization` header alone, before the body is read (authenticateBeforeTheBody). Failed
 * authentications are counted per client IP; past `authFailuresPerMinute` the IP gets 429 until
 * the window ends, without its keys being checked at all, so keys cannot be guessed at speed.
 *
 * The header is read here rather than by a Passport strategy: Passport builds a middleware and a
 * strategy object per request (a tenth of the CPU of a cached GET), and its strategies are
 * process-wide, so two apps in one process would share one.
 */
@Injectable()
export class ApiKeyAuthenticator {
  private verifier?: ApiKeyVerifier;

  constructor(
    @Inject(RATE_LIMIT_STORAGE) private readonly counters: RateLimitStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly moduleRef: ModuleRef,
  ) {}

  async authenticate(request: CredentialsOf): Promise<AuthContext> {
    await this.refuseBlockedClient(request);
    try {
      if ((request.query as { access_token?: unknown } | undefined)?.access_token !== undefined) {
        throw new UnauthorizedError('Send the API key in the Authorization header, never in the URL or the body');
      }
      const secret = bearerCredentials(request.headers.authorization);
      if (!secret) throw new UnauthorizedError('Missing or malformed Authorization header: send "Authorization: Bearer tfy_…"');
      this.verifier ??= this.moduleRef.get<ApiKeyVerifier>(API_KEY_VERIFIER, { strict: false });
      const auth = await this.verifier.authenticate(secret);
      (request as { user?: AuthContext }).user = auth;
      return auth;
    } catch (error) {
      if (error instanceof UnauthorizedError) await this.countFailure(request);
      throw error;
    }
  }

  /**
   * `authenticate` at once, when the failure counters are in this process and the key is a live
   * one the verifier holds in memory: the caller, or the 429 of a blocked client IP thrown. For
   * anything else (a key to read or to refuse, counters in Redis) undefined, and nothing done:
   * `authenticate` then decides, as for any request. Reads the header only (no `access_token`
   * query), for the cached-read edge (workflows/hot-read.ts), which answers no query of that kind.
   */
  authenticateNow(request: Omit<CredentialsOf, 'query'>): AuthContext | undefined {
    const counters = this.counters.inProcess;
    if (counters === undefined) return undefined;
    const failures = counters.peek(failuresKey(request));
    if (failures?.isBlocked) throw this.tooManyFailures(failures.timeToBlockExpire);
    const secret = bearerCredentials(request.headers.authorization);
    if (!secret) return undefined;
    this.verifier ??= this.moduleRef.get<ApiKeyVerifier>(API_KEY_VERIFIER, { strict: false });
    const auth = this.verifier.authenticateCached(secret);
    if (auth !== undefined) (request as { user?: AuthContext }).user = auth;
    return auth;
  }

  /** 429 for a client IP past its failed attempts (of API keys, or of webhook signatures and hook ids), before any work for it. */
  async refuseBlockedClient(request: CredentialsOf): Promise<void> {
    const failures = await this.counters.peek(failuresKey(request)).catch(() => null);
    if (failures?.isBlocked) throw this.tooManyFailures(failures.timeToBlockExpire);
  }

  /** The client IP's failure counter, blocking (a webhook delivery's workspace count checks it in the same operation: WorkspaceRateLimiter.count). */
  blockedClientCounter(request: Pick<CredentialsOf, 'ip'>): BlockingCounter {
    return { key: failuresKey(request), refusal: (failures) => this.tooManyFailures(failures.timeToBlockExpire) };
  }

  /** Counts a failed attempt of the client IP; 429 when that one is past the limit (the caller throws its own error otherwise). */
  async countFailure(request: CredentialsOf): Promise<void> {
    const record = await this.counters
      .increment(failuresKey(request), FAILURE_WINDOW_MS, this.config.authFailuresPerMinute, 0, 'auth-failures')
      .catch(() => null);
    if (record?.isBlocked) throw this.tooManyFailures(record.timeToBlockExpire);
  }

  private tooManyFailures(retryAfterSeconds: number): RateLimitedError {
    return new RateLimitedError(`Too many failed authentication attempts from this address; retry in ${retryAfterSeconds} s`, retryAfterSeconds, {
      limit: this.config.authFailuresPerMinute,
      windowSeconds: FAILURE_WINDOW_MS / 1000,
      scope: 'client-ip',
    });
  }
}
