import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'typeorm';

/**
 * When the database last got a query from anything but background work, so that a background job
 * can yield to requests only while there are some. It is the data source's TypeORM logger:
 * TypeORM calls `logQuery` as each query starts, in the async context of whoever sent it, so work
 * run in {@link background} is told apart with an AsyncLocalStorage. It logs nothing (the data
 * source's `logging` is off), and costs a clock read per query.
 */
export class QueryActivity implements Logger {
  private readonly backgroundWork = new AsyncLocalStorage<true>();
  private lastForegroundAt = -Infinity;

  /** Runs `work` with its queries not counted as the requests'. */
  background<T>(work: () => Promise<T>): Promise<T> {
    return this.backgroundWork.run(true, work);
  }

  /** Whether a query not sent by background work started at or after `since` (a `performance.now()` time). */
  foregroundSince(since: number): boolean {
    return this.lastForegroundAt >= since;
  }

  logQuery(): void {
    if (!this.backgroundWork.getStore()) this.lastForegroundAt = performance.now();
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
