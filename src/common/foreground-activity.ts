import type { Logger } from 'typeorm';

/**
 * When the server last began work for someone, for a background job that yields to it: an HTTP
 * request ({@link requestStarted}, from a Fastify hook) or a database query (any: while the job
 * pauses, its own send none). Queries are heard as the data source's TypeORM logger, which TypeORM
 * calls as each query starts; it logs nothing (the data source's `logging` is off) and costs a
 * clock read per query or request. (Telling the job's queries apart with an AsyncLocalStorage
 * would cost every promise of the process on Node 20: it doubled the p50 of bench/retention.)
 */
export class ForegroundActivity implements Logger {
  private lastRequestAt = -Infinity;
  private lastQueryAt = -Infinity;

  /** Whether an HTTP request started at or after `since` (a `performance.now()` time). */
  requestSince(since: number): boolean {
    return this.lastRequestAt >= since;
  }

  /** Whether a database query started at or after `since` (a `performance.now()` time). */
  querySince(since: number): boolean {
    return this.lastQueryAt >= since;
  }

  /** An HTTP request came in. (A cached read sends no query, yet a job's CPU slows it down.) */
  requestStarted(): void {
    this.lastRequestAt = performance.now();
  }

  logQuery(): void {
    this.lastQueryAt = performance.now();
  }

  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
}
