import { Inject, Injectable, Logger } from '@nestjs/common';
import { RateLimitedError } from '../common/errors';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { rateLimitPerMinute } from '../plans/plans';
import { type HeaderSink, RATE_LIMIT_WINDOW_SECONDS, setRateLimitHeaders, WORKSPACE_THROTTLER } from '../plans/rate-limit-headers';
import { type IncrementUnlessBlocked, RATE_LIMIT_STORAGE, RateLimitStorage, type ThrottlerStorageRecord } from '../plans/rate-limit.storage';
import type { AuthContext } from './auth-context';

const WINDOW_MS = RATE_LIMIT_WINDOW_SECONDS * 1000;

/** A counter whose block refuses a request before its workspace counts it (a client IP's failures): its key, and the error its block answers with. */
export interface BlockingCounter {
  key: string;
  refusal(record: ThrottlerStorageRecord): Error;
}

/**
 * Counts every authenticated request against its workspace's plan (free 60, pro 300 per minute,
 * enterprise its own), across all keys of the workspace, before its body is read
 * (authenticateBeforeTheBody), so a request counts whatever its body turns out to be. Sets the
 * rate-limit headers on every authenticated response and refuses with 429 `RATE_LIMITED` and
 * `Retry-After` past the limit. Public routes are not counted; failed authentications are limited
 * per IP by ApiKeyAuthenticator. If the counter store fails (Redis down or not answering in time),
 * the request is let through uncounted and without rate-limit headers (fail open), and a warning
 * is logged once per outage: an outage of the store must not take the API down.
 */
@Injectable()
export class WorkspaceRateLimiter {
  private readonly log = new Logger(WorkspaceRateLimiter.name);
  /** Set while the counter store fails, so that an outage is logged once, not once per request. */
  private storeFailing = false;
  /** The counter key of each workspace object (the cached, frozen one of its keys' AuthContext), made once rather than per request. */
  private readonly counterKeys = new WeakMap<AuthContext['workspace'], string>();

  constructor(
    @Inject(RATE_LIMIT_STORAGE) private readonly storage: RateLimitStorage,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Counts the request; with `blocking`, only unless that counter is blocked (then its refusal is
   * thrown, nothing counted), both read in one operation of the store. When the store fails, neither.
   */
  async count({ workspace }: Pick<AuthContext, 'workspace'>, reply: HeaderSink, blocking?: BlockingCounter): Promise<void> {
    const limit = rateLimitPerMinute(workspace, this.config.enterpriseRateLimitPerMinute);
    const key = this.counterKey(workspace);
    let result: IncrementUnlessBlocked;
    try {
      result =
        blocking === undefined
          ? { counted: await this.storage.increment(key, WINDOW_MS, limit, 0, WORKSPACE_THROTTLER) }
          : await this.storage.incrementUnlessBlocked(blocking.key, key, WINDOW_MS, limit, 0);
    } catch (error) {
      if (!this.storeFailing) this.log.warn({ err: error }, 'Rate-limit store failed; letting requests through uncounted until it is back');
      this.storeFailing = true;
      return;
    }
    if (this.storeFailing) this.log.log('Rate-limit store is back; counting requests again');
    this.storeFailing = false;
    if (result.blocked !== undefined) throw blocking!.refusal(result.blocked);
    this.apply(workspace, limit, result.counted, reply);
  }

  /** Whether `countNow` can count: the store's counters are in this process. */
  get countsNow(): boolean {
    return this.storage.inProcess !== undefined;
  }

  /** `count` done at once, when `countsNow` (a store in this process cannot fail); false, uncounted, otherwise. */
  countNow({ workspace }: Pick<AuthContext, 'workspace'>, reply: HeaderSink): boolean {
    const store = this.storage.inProcess;
    if (store === undefined) return false;
    const limit = rateLimitPerMinute(workspace, this.config.enterpriseRateLimitPerMinute);
    this.apply(workspace, limit, store.increment(this.counterKey(workspace), WINDOW_MS, limit, 0), reply);
    return true;
  }

  private counterKey(workspace: AuthContext['workspace']): string {
    let key = this.counterKeys.get(workspace);
    if (key === undefined) {
      key = `${WORKSPACE_THROTTLER}:${workspace.id}`;
      this.counterKeys.set(workspace, key);
    }
    return key;
  }

  /** The rate-limit headers of a counted request, and 429 past the limit. */
  private apply(workspace: AuthContext['workspace'], limit: number, record: ThrottlerStorageRecord, reply: HeaderSink): void {
    const resetSeconds = record.isBlocked ? record.timeToBlockExpire : record.timeToExpire;
    setRateLimitHeaders(reply, WORKSPACE_THROTTLER, limit, Math.max(0, limit - record.totalHits), resetSeconds);
    if (record.isBlocked) {
      throw new RateLimitedError(`Rate limit of ${limit} requests per minute reached for workspace ${workspace.id}; retry in ${resetSeconds} s`, resetSeconds, {
        limit,
        windowSeconds: RATE_LIMIT_WINDOW_SECONDS,
        plan: workspace.plan,
      });
    }
  }
}
