import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock, CLOCK } from '../common/clock';
import { ConflictError, DomainError } from '../common/errors';
import { CACHE_NAMES, CacheRevisions } from '../database/cache-revisions.service';
import { ExecutionsService } from '../executions/executions.service';
import { WorkspacesService } from '../workspaces/workspaces.service';
import { type FireOutcome, ScheduleEvents } from './schedule-events';
import type { ScheduleEntity } from './schedule.entity';
import { cronOf } from './schedules.service';
import { SchedulesRepository } from './schedules.repository';

/**
 * A pending fire time found later than this is "missed": it passed while no server was running
 * (or the database was out of reach), and so did any later one up to now; the schedule's `missed`
 * policy decides what runs. A fire time found sooner is merely late (a busy event loop) and runs as usual.
 */
export const MISSED_AFTER_MS = 60_000;
/** Re-reads the earliest fire time this often even without a change notice: the database is the truth. */
export const RESYNC_INTERVAL_MS = 10_000;
/** After a pass that could not handle a due fire time (database down), wait this long before the next. */
const RETRY_AFTER_MS = 1000;

/** The idempotency key of a fire time's execution: the same in every process, so at most one execution can exist for it. */
export function fireIdempotencyKey(workflowId: string, fireTime: Date): string {
  return `schedule:${workflowId}:${fireTime.toISOString()}`;
}

/**
 * Fires the schedules, in every process (embedded server, API instances and workers alike), with
 * exactly one execution per fire time:
 *
 * - One timer per process, armed to the earliest fire time of any active schedule (read from the
 *   database), re-armed when this or another process changes a schedule (the `schedules` cache
 *   revision, noticed within a second) and every RESYNC_INTERVAL_MS regardless.
 * - At a fire time, each process executes with the idempotency key `schedule:<workflowId>:<fireTime>`:
 *   the unique index on (workspace_id, idempotency_key) lets exactly one execution exist for it, and
 *   the processes that lose the race get that one back. Only then does `next_fire_at` move on, with a
 *   conditional UPDATE: a process that dies in between leaves the fire time due, and the next pass
 *   (here or elsewhere) finds the execution already there rather than missing it.
 * - A pending fire time more than MISSED_AFTER_MS in the past means downtime: it and the later ones
 *   up to now are handled once, by whichever process moves `next_fire_at` past them first: skipped,
 *   or (`run-once`) run once for the latest of them.
 */
@Injectable()
export class Scheduler implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger(Scheduler.name);
  private timer?: NodeJS.Timeout;
  private resync?: NodeJS.Timeout;
  private pass: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Counts arm() calls: one that read the database before a later one started must not set the timer after it. */
  private arms = 0;

  constructor(
    private readonly schedules: SchedulesRepository,
    private readonly executions: ExecutionsService,
    private readonly workspaces: WorkspacesService,
    private readonly events: ScheduleEvents,
    private readonly revisions: CacheRevisions,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.revisions.onChange(CACHE_NAMES.schedules, () => void this.arm());
    this.resync = setInterval(() => void this.arm(), RESYNC_INTERVAL_MS);
    this.resync.unref();
    void this.tick();
  }

  /** Stops before the executions module does, so no fire lands in a queue that is draining. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resync);
    await this.pass;
  }

  /**
   * Handles every fire time that is due by the clock, then re-arms the timer. Passes run one at a
   * time in this process; the timer calls it, and tests call it after moving a fake clock.
   */
  tick(): Promise<void> {
    this.pass = this.pass.then(() => this.runDue());
    return this.pass;
  }

  private async runDue(): Promise<void> {
    if (this.stopped) return;
    let retryAfter = 0;
    try {
      // Each pass moves every due schedule on (or leaves it for a retry), so this ends.
      for (let due = await this.schedules.due(new Date(this.clock.now())); due.length > 0; due = await this.schedules.due(new Date(this.clock.now()))) {
        const results = await Promise.all(due.map((schedule) => this.handle(schedule)));
        if (results.includes(false)) {
          retryAfter = RETRY_AFTER_MS;
          break;
        }
      }
    } catch (error) {
      this.log.error({ err: error }, `Could not read the due schedules; retrying in ${RETRY_AFTER_MS} ms`);
      retryAfter = RETRY_AFTER_MS;
    }
    await this.arm(retryAfter);
  }

  /** Arms the timer to the earliest fire time (at least `minimumMs` away), or to the next resync when none is known. */
  private async arm(minimumMs = 0): Promise<void> {
    if (this.stopped) return;
    const arm = ++this.arms;
    let earliest: Date | null;
    try {
      earliest = await this.schedules.earliestFireTime();
    } catch (error) {
      this.log.warn({ err: error }, 'Could not read the next fire time; the next resync tries again');
      return;
    }
    if (arm !== this.arms || this.stopped) return;
    clearTimeout(this.timer);
    if (earliest === null) return;
    const delay = Math.min(Math.max(earliest.getTime() - this.clock.now(), minimumMs), RESYNC_INTERVAL_MS);
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  /** Handles a schedule's due fire time; false when it stays due (a failure worth retrying, such as the database). */
  private async handle(schedule: ScheduleEntity): Promise<boolean> {
    const fireTime = schedule.nextFireAt!;
    const now = this.clock.now();
    try {
      const cron = cronOf(schedule);
      if (now - fireTime.getTime() > MISSED_AFTER_MS) return await this.catchUp(schedule, fireTime, now);
      const executionId = await this.fire(schedule, fireTime);
      const next = cron.nextAfter(fireTime.getTime());
      await this.schedules.advance(schedule.workflowId, fireTime, next === null ? null : new Date(next), new Date(now));
      if (executionId !== null) await this.schedules.recordRun(schedule.workflowId, fireTime, executionId);
      return true;
    } catch (error) {
      this.log.error({ err: error, workflowId: schedule.workflowId, fireTime: fireTime.toISOString() }, 'Could not handle a fire time; retrying');
      return false;
    }
  }

  /**
   * The schedule's pending fire time is long past, so no server ran it: this one and every later one
   * up to now are missed. Moves past them all (once, across processes), then skips them or runs the
   * latest once. Resuming from now, not from the grace period, keeps a seconds schedule from
   * starting a burst of runs after downtime.
   */
  private async catchUp(schedule: ScheduleEntity, fireTime: Date, now: number): Promise<boolean> {
    const cron = cronOf(schedule);
    const resumeAt = cron.nextAfter(now);
    if (!(await this.schedules.advance(schedule.workflowId, fireTime, resumeAt === null ? null : new Date(resumeAt), new Date(now)))) return true;
    if (schedule.missed === 'skip') {
      this.log.log({ workflowId: schedule.workflowId, from: fireTime.toISOString() }, 'Skipped the fire times that passed while no server ran');
      this.emit(schedule, 'missed_skipped');
      return true;
    }
    // The latest fire time that passed unhandled (fireTime itself is one, so there is one).
    const latest = new Date(cron.latestAtOrBefore(now) ?? fireTime.getTime());
    this.emit(schedule, 'missed_run_once');
    const executionId = await this.fire(schedule, latest);
    if (executionId !== null) await this.schedules.recordRun(schedule.workflowId, latest, executionId);
    return true;
  }

  /**
   * The fire time's one execution: created here, or found (another process created it). Null when
   * the execute was refused (no executor, a plan limit…): that fire time is over, logged and counted.
   */
  private async fire(schedule: ScheduleEntity, fireTime: Date): Promise<string | null> {
    const request = { inputs: schedule.inputs, trigger: { type: 'schedule' as const, fireTime: fireTime.toISOString() } };
    try {
      const workspace = await this.workspaces.get(schedule.workspaceId);
      const { execution, replayed } = await this.executions.execute(workspace, schedule.workflowId, request, fireIdempotencyKey(schedule.workflowId, fireTime));
      this.emit(schedule, replayed ? 'deduplicated' : 'started');
      return execution.id;
    } catch (error) {
      // The same key with other inputs: another process fired this time with the inputs before an edit.
      if (error instanceof ConflictError) {
        this.emit(schedule, 'deduplicated');
        return null;
      }
      if (!(error instanceof DomainError)) throw error;
      this.log.warn(
        { workflowId: schedule.workflowId, fireTime: fireTime.toISOString(), code: error.code },
        `A schedule could not start its run: ${error.message}`,
      );
      this.emit(schedule, 'failed');
      return null;
    }
  }

  private emit(schedule: ScheduleEntity, outcome: FireOutcome): void {
    this.events.emit({ workflowId: schedule.workflowId, outcome });
  }
}
