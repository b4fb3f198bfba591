import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'typeorm';

/**
 * When the server last worked for someone: an HTTP request started ({@link requestStarted}, from
 * a Fastify hook) or a database query was sent by anything but background work (requests, runs
 * writing their logs). A background job yields while there is such work and runs at full speed
 * when there is none. Queries are heard as the data source's TypeORM logger: TypeORM calls
 * `logQuery` as each query starts, in the async context of whoever sent it, so work run in
 * {@link background} is told apart with an AsyncLocalStorage. It logs nothing (the data source's
 * `logging` is off) and costs a clock read per query or request.
 */
export class ForegroundActivity implements Logger {
  private readonly backgroundWork = new AsyncLocalStorage<true>();
  private lastAt = -Infinity;

  /** Runs `work` with its queries not counted as foreground work. */
  background<T>(work: () => Promise<T>): Promise<T> {
    return this.backgroundWork.run(true, work);
  }

  /** Whether foreground work started at or after `since` (a `performance.now()` time). */
  since(since: number): boolean {
    return this.lastAt >= since;
  }

  /** An HTTP request came in. (Cached reads send no query, yet a job's CPU slows them down.) */
  requestStarted(): void {
    this.lastAt = performance.now();
  }

  logQuery(): void {
    if (!this.backgroundWork.getStore()) this.lastAt = performance.now();
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
