import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { rawQuery } from './raw-query';

export const CACHE_NAMES = { auth: 'auth', workflows: 'workflows', schedules: 'schedules', workflowLists: 'workflow-lists', hooks: 'hooks' } as const;
export type CacheName = (typeof CACHE_NAMES)[keyof typeof CACHE_NAMES];

/** How often other processes' writes are noticed; this process's own writes are seen at once. */
export const CACHE_SYNC_INTERVAL_MS = 1000;

/** Longest a cached row lives, whatever the counters say. */
export const CACHE_TTL_MS = 60_000;

/**
 * Keeps in-memory caches of database rows honest. A write that can make a cached row stale runs
 * through `write`: after it, the cache's counter moves and this process's listeners drop their
 * entries. Other processes sharing the database (the CLI, other instances) notice the moved
 * counter at their next poll, within CACHE_SYNC_INTERVAL_MS. A process's poll does not take the
 * moves of its own writes for another's: it dropped its entries at the write already, and dropping
 * them again a moment later would only cost the reads that refill them.
 *
 * No transaction wraps the two statements: TypeORM shares one connection among all requests on
 * SQLite, so a transaction would take in whatever other requests run meanwhile. Should a process
 * die between the write and the counter, the caches' own time-to-live (CACHE_TTL_MS) bounds how
 * long another process may serve the old row.
 */
@Injectable()
export class CacheRevisions implements OnModuleInit, OnModuleDestroy {
  private readonly log = new Logger(CacheRevisions.name);
  private readonly listeners = new Map<CacheName, (() => void)[]>();
  private readonly seen = new Map<string, number>();
  /** The counters this process moved since its last poll read them, by name. */
  private readonly ownMoves = new Map<string, number>();
  /** The end of the counter move or poll in progress: they run one at a time in this process (see `sync`). */
  private turn: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async onModuleInit(): Promise<void> {
    await this.addMissingCounters();
    await this.sync();
    this.timer = setInterval(() => void this.sync(), CACHE_SYNC_INTERVAL_MS);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  onChange(name: CacheName, listener: () => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), listener]);
  }

  async write<T>(name: CacheName, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } finally {
      this.notify(name);
      await this.inTurn(async () => {
        await rawQuery(this.dataSource, 'UPDATE cache_revisions SET revision = revision + 1 WHERE name = :name', { name });
        this.ownMoves.set(name, (this.ownMoves.get(name) ?? 0) + 1);
      }).catch((error: unknown) =>
        this.log.error({ err: error, cache: name }, 'Could not move a cache revision; other processes catch up within the cache TTL'),
      );
    }
  }

  /**
   * A counter for each name of CACHE_NAMES: the migration created those of the first caches; a
   * cache added since gets its row at the first start that knows it (no migration needed for a
   * row). Two processes starting together may both insert it: the loser's duplicate is ignored.
   */
  private async addMissingCounters(): Promise<void> {
    let rows: { name: string }[];
    try {
      rows = await this.dataSource.query('SELECT name FROM cache_revisions');
    } catch {
      return; // sync() reports an unreadable table
    }
    const present = new Set(rows.map((row) => row.name));
    for (const name of Object.values(CACHE_NAMES).filter((name) => !present.has(name))) {
      await rawQuery(this.dataSource, 'INSERT INTO cache_revisions (name, revision) VALUES (:name, 0)', { name }).catch((error: unknown) =>
        this.log.debug({ err: error, cache: name }, 'Cache revision row not added (another process added it)'),
      );
    }
  }

  /**
   * Reads the counters and drops the caches whose counter moved more than this process's own
   * writes moved it since the last read (run every CACHE_SYNC_INTERVAL_MS). Its own moves are
   * known exactly because moves and polls take turns: every move counted in `ownMoves` is
   * committed before the poll's SELECT starts, and none is under way during it. Were they to
   * overlap, a move the SELECT saw but not yet counted would be taken for another process's at
   * this poll, and, counted at the next, would hide one of another process's there.
   */
  sync(): Promise<void> {
    return this.inTurn(async () => {
      let rows: { name: string; revision: number }[];
      try {
        rows = await this.dataSource.query('SELECT name, revision FROM cache_revisions');
      } catch (error) {
        this.log.warn({ err: error }, 'Could not read cache revisions; caches are cleared until it works again');
        for (const name of this.listeners.keys()) this.notify(name);
        return;
      }
      for (const { name, revision } of rows) {
        const previous = this.seen.get(name);
        const own = this.ownMoves.get(name) ?? 0;
        this.seen.set(name, Number(revision));
        this.ownMoves.delete(name);
        if (previous !== undefined && previous + own !== Number(revision)) this.notify(name as CacheName);
      }
    });
  }

  /** Runs `work` once the move or poll in progress has ended: one statement of the counters at a time, in the order asked. */
  private inTurn<T>(work: () => Promise<T>): Promise<T> {
    const done = this.turn.then(work);
    this.turn = done.catch(() => undefined);
    return done;
  }

  private notify(name: CacheName): void {
    for (const listener of this.listeners.get(name) ?? []) listener();
  }
}
