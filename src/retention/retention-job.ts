import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { Clock, CLOCK } from '../common/clock';
import { ForegroundActivity } from '../common/foreground-activity';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { rawQuery } from '../database/raw-query';
import { releaseFreePages } from '../database/sqlite-vacuum';
import { TERMINAL_STATUSES } from '../executions/execution.entity';
import { ExecutionPurge } from '../executions/execution-purge';
import { type Plan, retentionDays } from '../plans/plans';
import { RetentionEvents } from './retention-events';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Arbitrary, fixed key of the PostgreSQL advisory lock held by the one process pruning (migrations use another). */
export const RETENTION_LOCK_KEY = 7_204_118_357;
/** No statement of the job should hold the database longer than this; batches shrink when one comes close. */
export const STATEMENT_BUDGET_MS = 100;
/** A run stops after this long and the next one carries on, so that a huge backlog cannot keep one process busy for hours. */
const RUN_BUDGET_MS = 5 * 60 * 1000;
/** Pause before the next pass when the last one was cut short by RUN_BUDGET_MS. */
const BACKLOG_PAUSE_MS = 10_000;
/** Shortest pause between batches, the whole pause when no request came meanwhile: an idle server prunes at full speed. */
const YIELD_MS = 5;
/**
 * The longest pause after a batch, as a multiple of the time the batch took, while requests keep
 * coming: the job has the database at most a quarter of the time then. (At 1, half the time,
 * bench/retention gave 3.6x and 3.8x the p99 on a loaded machine, where a statement's time is
 * mostly its wait behind the requests' queries.)
 */
const PAUSE_PER_BATCH_TIME = 3;
/** Foreground work (requests, queries: their own, runs' log writes) none of which started for this long is over: the pause ends. */
const REQUEST_GAP_MS = 50;
/** SQLite pages given back per `PRAGMA incremental_vacuum(N)` step (4 MiB of 4 KiB pages). */
const VACUUM_PAGES_PER_STEP = 1024;

const BATCH = { min: 1, start: 20, max: 200 };
const LOG_CHUNK = { min: 100, start: 2000, max: 10_000 };

export interface RetentionRun {
  /** False when another process held the lock (distributed mode): this one did nothing. */
  ran: boolean;
  executions: number;
  logLines: number;
}

interface WorkspaceRow {
  id: string;
  plan: Plan;
  retention_days: number | null;
}

/**
 * The retention job: every `TENSORIFY_RETENTION_INTERVAL_SECONDS`, deletes the finished executions
 * (with their log lines, files and child rows: ExecutionPurge) that completed more than their
 * workspace's `retentionDays` ago, by the injected clock. Workspace by workspace, oldest first, in
 * batches sized so that no statement comes near STATEMENT_BUDGET_MS (halved when one takes more
 * than half of it, doubled when all take under a tenth), pausing between batches. On PostgreSQL one
 * process at a time runs it (a session advisory lock, tried, not waited for); small autocommitted
 * deletes let autovacuum keep up. On SQLite (one process) the freed pages go back to the file
 * system afterwards, a few MiB per step.
 */
@Injectable()
export class RetentionJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<RetentionRun> | undefined;
  private stopped = false;
  /** Whether the last pass stopped at RUN_BUDGET_MS with executions left to prune. */
  private cutShort = false;
  private batch = BATCH.start;
  private logChunk = LOG_CHUNK.start;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly purge: ExecutionPurge,
    private readonly events: RetentionEvents,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly activity: ForegroundActivity,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.retentionIntervalSeconds > 0) this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.current?.catch(() => undefined);
  }

  /** One pass over every workspace (also what tests call); a pass already under way in this process is joined, not repeated. */
  runOnce(): Promise<RetentionRun> {
    this.current ??= this.exclusively(() => this.prune()).finally(() => (this.current = undefined));
    return this.current;
  }

  private schedule(delayMs = this.config.retentionIntervalSeconds * 1000): void {
    this.timer = setTimeout(() => {
      void this.runOnce()
        // A pass cut short by its time budget left a backlog: the next one starts soon, not an interval later.
        .then(() => (this.cutShort ? BACKLOG_PAUSE_MS : undefined))
        .catch((error: unknown) => {
          this.log.error({ err: error }, 'The retention job failed; it runs again at the next interval');
          return undefined;
        })
        .then((delay) => {
          if (!this.stopped) this.schedule(delay);
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Runs `work` in the one process holding the lock (PostgreSQL); SQLite is one process and needs none. */
  private async exclusively(work: () => Promise<Omit<RetentionRun, 'ran'>>): Promise<RetentionRun> {
    if (this.dataSource.options.type !== 'postgres') return { ran: true, ...(await work()) };
    const holder = this.dataSource.createQueryRunner();
    try {
      const [row] = (await holder.query('SELECT pg_try_advisory_lock($1) AS locked', [RETENTION_LOCK_KEY])) as { locked: boolean }[];
      if (!row?.locked) return { ran: false, executions: 0, logLines: 0 };
      try {
        return { ran: true, ...(await work()) };
      } finally {
        await holder.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      await holder.release();
    }
  }

  private async prune(): Promise<Omit<RetentionRun, 'ran'>> {
    const started = performance.now();
    this.cutShort = false;
    const total = { executions: 0, logLines: 0 };
    const now = this.clock.now();
    let after = '';
    for (;;) {
      const workspaces = await rawQuery<WorkspaceRow>(
        this.dataSource,
        'SELECT id, plan, retention_days FROM workspaces WHERE id > :after ORDER BY id LIMIT 100',
        { after },
      );
      for (const workspace of workspaces) {
        const cutoff = new Date(now - retentionDays({ plan: workspace.plan, retentionDays: workspace.retention_days }) * DAY_MS).toISOString();
        for (;;) {
          if (this.stopped || performance.now() - started > RUN_BUDGET_MS) {
            this.cutShort = !this.stopped;
            return this.finish(total);
          }
          const batchStarted = performance.now();
          const ids = await this.expired(workspace.id, cutoff);
          if (ids.length === 0) break;
          const result = await this.purge.purge(ids, this.logChunk);
          this.resize(result.longestStatementMs, batchStarted);
          total.executions += result.executions;
          total.logLines += result.logLines;
          if (result.executions > 0 || result.logLines > 0) this.events.emit({ executions: result.executions, logLines: result.logLines });
          if (result.executions === 0) break; // changed under us (re-queued): the next run looks again
          await this.yieldToRequests(batchStarted);
        }
        await this.prunePrograms(workspace.id);
      }
      if (workspaces.length < 100) break;
      after = workspaces[workspaces.length - 1].id;
    }
    return this.finish(total);
  }

  /**
   * Then the workspace's programs that no execution uses any more (nor its workflows' current
   * versions): executions deleted here or by `DELETE /v1/executions/:id` leave them. Batched and
   * paused like the executions.
   */
  private async prunePrograms(workspaceId: string): Promise<void> {
    while (!this.stopped) {
      const batchStarted = performance.now();
      const batch = this.batch;
      const result = await this.purge.purgePrograms(workspaceId, batch);
      this.resize(result.longestStatementMs, batchStarted);
      if (result.programs < batch) return;
      await this.yieldToRequests(batchStarted);
    }
  }

  /**
   * The pause after a batch that began at `batchStarted`: YIELD_MS, then on while foreground work
   * keeps coming (ForegroundActivity: an HTTP request since the batch began, or a query since the
   * pause began, when the job sends none, each within the last REQUEST_GAP_MS), up to
   * PAUSE_PER_BATCH_TIME times the batch's duration. It follows the requests, not the batch's time
   * alone: on an idle server that time is the deletes' own cost, and pausing for it cut the delete
   * rate about fourfold.
   */
  private async yieldToRequests(batchStarted: number): Promise<void> {
    const pauseStarted = performance.now();
    const until = pauseStarted + PAUSE_PER_BATCH_TIME * (pauseStarted - batchStarted);
    const busy = (): boolean => {
      const recent = performance.now() - REQUEST_GAP_MS;
      return this.activity.requestSince(Math.max(batchStarted, recent)) || this.activity.querySince(Math.max(pauseStarted, recent));
    };
    do await sleep(YIELD_MS);
    while (performance.now() < until && busy());
  }

  /** The oldest finished executions of the workspace that completed before `cutoff`, up to a batch; by `idx_executions_workspace_created`. */
  private async expired(workspaceId: string, cutoff: string): Promise<string[]> {
    const rows = await rawQuery<{ id: string }>(
      this.dataSource,
      `SELECT id FROM executions WHERE workspace_id = :workspaceId AND created_at < :cutoff AND completed_at < :cutoff AND status IN (:...terminal)
       ORDER BY created_at, id LIMIT ${this.batch}`,
      { workspaceId, cutoff, terminal: [...TERMINAL_STATUSES] },
    );
    return rows.map((row) => row.id);
  }

  /**
   * Halves the batch when a statement took more than a fifth of the budget, doubles it when every
   * one took under a twentieth: well under the budget, since a request that waits behind a
   * statement waits for all of it (bench/retention measures the p99 that this costs). It grows only
   * while no HTTP request has started since the batch began.
   */
  private resize(longestMs: number, batchStarted: number): void {
    if (longestMs > STATEMENT_BUDGET_MS / 5) {
      this.batch = Math.max(BATCH.min, Math.floor(this.batch / 2));
      this.logChunk = Math.max(LOG_CHUNK.min, Math.floor(this.logChunk / 2));
    } else if (longestMs < STATEMENT_BUDGET_MS / 20 && !this.activity.requestSince(batchStarted)) {
      this.batch = Math.min(BATCH.max, this.batch * 2);
      this.logChunk = Math.min(LOG_CHUNK.max, this.logChunk * 2);
    }
  }

  private async finish(total: Omit<RetentionRun, 'ran'>): Promise<Omit<RetentionRun, 'ran'>> {
    if (total.executions > 0) {
      this.log.log(`Pruned ${total.executions} executions and ${total.logLines} log lines past their workspace's retention`);
      await this.giveSpaceBack();
    }
    return total;
  }

  /** SQLite: returns the free pages to the file system in steps, pausing between them. */
  private async giveSpaceBack(): Promise<void> {
    if (this.dataSource.options.type !== 'sqlite') return;
    let before = Infinity;
    for (;;) {
      const [row] = await this.dataSource.query<{ freelist_count: number }[]>('PRAGMA freelist_count');
      const free = Number(row?.freelist_count ?? 0);
      // Nothing left, or nothing given back (a file without incremental auto_vacuum): done.
      if (free === 0 || free >= before || this.stopped) return;
      before = free;
      await releaseFreePages(this.dataSource, VACUUM_PAGES_PER_STEP);
      await sleep(YIELD_MS);
    }
  }
}
