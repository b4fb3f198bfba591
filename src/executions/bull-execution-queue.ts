import { Logger } from '@nestjs/common';
import type Bull from 'bull';
import { BullJobAdder, type ImmediateJob } from './bull-add-jobs';
import type { ExecutionQueue, QueuedExecution, QueueWorker } from './execution-queue';
import type { WorkspaceSlots } from './workspace-slots';

export const BULL_QUEUE_NAME = 'tensorify-executions';
const COUNTS_REFRESH_MS = 1000;
/** Jobs the reconciler queues again per `addBulk`. */
const RECONCILE_CHUNK = 500;
const BACKOFF_STRATEGY = 'workspace-busy';
/** How a job whose workspace was at its limit waits before it is tried again: 250 ms, growing to 2 s, with jitter. */
function workspaceBusyDelay(attemptsMade: number): number {
  return Math.min(250 * 1.25 ** Math.max(0, attemptsMade - 1), 2000) + Math.floor(Math.random() * 100);
}

/** Thrown by a worker that took a job whose workspace runs as many executions as its plan allows: Bull tries it again later. */
class WorkspaceBusy extends Error {
  override readonly name = 'WorkspaceBusy';
}

/** The job's payload: the execution id only; everything else is read from its committed row. */
export interface ExecutionJobData {
  executionId: string;
}

/**
 * The queue's settings: a job's lock lasts the stall interval; a job whose worker died is not
 * delivered again (the reconciler ends it WORKER_LOST); finished jobs leave Redis.
 */
export function bullQueueOptions(stallMs: number): Bull.QueueOptions {
  return {
    settings: {
      lockDuration: stallMs,
      stalledInterval: Math.max(1000, Math.floor(stallMs / 2)),
      maxStalledCount: 0,
      backoffStrategies: { [BACKOFF_STRATEGY]: workspaceBusyDelay },
    },
    // Attempts are for a workspace at its limit only (the job keeps its id, the execution's, while it waits):
    // handle() lets no other error out. Past them the job leaves and the reconciler queues the row again.
    defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 100_000, backoff: { type: BACKOFF_STRATEGY } },
  };
}

export interface BullQueueOptions {
  /** Whether this process runs executions (false: an API instance that leaves them to workers). */
  process: boolean;
  /** Executions this process runs at once. */
  concurrency: number;
  /** How long a job's lock (and a workspace slot's lease) lasts without renewal. */
  stallMs: number;
  slots: WorkspaceSlots;
}

/**
 * The execution queue of the distributed mode: Bull on Redis. Any process may enqueue; the ones
 * that `start` process jobs, `concurrency` at a time, each within its workspace's limit across all
 * workers (`WorkspaceSlots`). A job is the execution id; its row is the truth: a job whose
 * execution is no longer `queued` is dropped, and the conditional `queued → running` update lets
 * one worker only run it. No process may assume the running executions are its own: the ones
 * that run executions stamp theirs, and every process reconciles, periodically: it ends
 * WORKER_LOST the running executions not stamped for the stall interval, and queues again the
 * `queued` rows whose job Redis lost (a restart without persistence; a job id is the execution
 * id, so one still there is not added twice).
 */
export class BullExecutionQueue implements ExecutionQueue {
  private readonly logger = new Logger('ExecutionQueue');
  private counts = { waiting: 0, running: 0 };
  private countsTimer?: NodeJS.Timeout;
  private readonly timers: NodeJS.Timeout[] = [];
  private started = false;
  private readonly adder: BullJobAdder<ExecutionJobData>;

  /** `queue`: the Bull queue @nestjs/bull made (BullModule.registerQueue), with bullQueueOptions(). */
  constructor(
    private readonly queue: Bull.Queue<ExecutionJobData>,
    private readonly options: BullQueueOptions,
  ) {
    this.adder = new BullJobAdder(queue);
    this.queue.on('error', (error) => this.logger.warn(`Queue: ${error.message}`));
    this.countsTimer = setInterval(() => void this.refreshCounts(), COUNTS_REFRESH_MS);
    this.countsTimer.unref();
  }

  enqueue(job: QueuedExecution): void {
    this.enqueueMany([job]);
  }

  /**
   * One round trip to Redis for all of `jobs`: the immediate ones with one run of our bulk script
   * (BullJobAdder), the delayed ones (retries waiting out their backoff) with Bull's `addBulk`.
   */
  enqueueMany(jobs: readonly QueuedExecution[]): void {
    if (jobs.length === 0) return;
    // The rows are committed: if Redis cannot take the jobs now, the reconciler queues them later.
    // A retry is a job of its own (the attempt's job may still be active when it is queued), delayed by its backoff.
    const immediate: ImmediateJob<ExecutionJobData>[] = [];
    const delayed: { data: ExecutionJobData; opts: Bull.JobOptions }[] = [];
    for (const job of jobs) {
      const jobId = (job.attempt ?? 1) > 1 ? `${job.executionId}.attempt-${job.attempt}` : job.executionId;
      const delay = Math.max(0, Math.round(job.delayMs ?? 0));
      const data = { executionId: job.executionId };
      if (delay === 0 && this.adder.mirrors) immediate.push({ jobId, data });
      else delayed.push({ data, opts: { jobId, ...(delay > 0 ? { delay } : {}) } });
    }
    const warn = (error: Error): void => {
      const ids = jobs.length === 1 ? jobs[0].executionId : `${jobs.length} executions (${jobs[0].executionId}, …)`;
      this.logger.warn(`Could not queue ${ids} (${error.message}); queued again once Redis answers`);
    };
    if (immediate.length > 0) this.adder.add(immediate).catch(warn);
    if (delayed.length > 0) this.queue.addBulk(delayed).catch(warn);
  }

  /** Jobs wait in Redis: a cancelled execution's job is dropped when a worker takes it. */
  remove(): boolean {
    return false;
  }

  start(worker: QueueWorker): Promise<void> {
    if (this.started) return Promise.resolve();
    this.started = true;
    const { stallMs } = this.options;
    if (this.options.process) {
      void this.queue
        .process(this.options.concurrency, async (job) => this.handle(job, worker))
        .catch((error: Error) => {
          this.logger.error(`The queue stopped processing: ${error.message}`);
        });
      this.every(stallMs / 3, () => worker.heartbeat());
    }
    this.every(stallMs / 2, async () => {
      const lost = await worker.failStalled(new Date(Date.now() - stallMs), this.options.process);
      if (lost > 0) this.logger.warn(`${lost} execution(s) whose worker stopped answering ended WORKER_LOST`);
      // A job id is the execution id: those Redis still holds are not added twice. One MULTI per chunk, not a round trip per row.
      const queued = await worker.queued(new Date(Date.now() - stallMs / 2));
      for (let start = 0; start < queued.length; start += RECONCILE_CHUNK) this.enqueueMany(queued.slice(start, start + RECONCILE_CHUNK));
    });
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    clearInterval(this.countsTimer);
    this.timers.forEach(clearInterval);
    await this.queue.close();
  }

  stats(): { waiting: number; running: number } {
    return this.counts;
  }

  /** Jobs waiting (delayed ones included) and running, across every worker. */
  async refreshCounts(): Promise<void> {
    try {
      const counts = await this.queue.getJobCounts();
      this.counts = { waiting: counts.waiting + counts.delayed, running: counts.active };
    } catch {
      // Redis is away: keep the last counts.
    }
  }

  /** Runs `task` every `ms` (not twice at once) until stop(); a failure is logged and the next round tries again. */
  private every(ms: number, task: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(
      () => {
        if (busy) return;
        busy = true;
        task()
          .catch((error: Error) => this.logger.warn(`Execution upkeep failed: ${error.message}`))
          .finally(() => (busy = false));
      },
      Math.max(500, Math.floor(ms)),
    );
    timer.unref();
    this.timers.push(timer);
  }

  private async handle(job: Bull.Job<ExecutionJobData>, worker: QueueWorker): Promise<void> {
    let queued: QueuedExecution | null;
    let acquired: boolean;
    const { slots } = this.options;
    try {
      queued = await worker.job(job.data.executionId);
      if (queued === null) return;
      acquired = await slots.acquire(queued.workspaceId, queued.executionId, queued.workspaceLimit);
    } catch (error) {
      // The database or Redis is away: the row is still `queued`, and the reconciler queues it again.
      this.logger.warn(`Could not take ${job.data.executionId} (${(error as Error).message}); it is queued again later`);
      return;
    }
    // The workspace is at its limit on the workers: the job waits in Redis (delayed), not in this worker's slot.
    if (!acquired) throw new WorkspaceBusy(`workspace ${queued.workspaceId} runs ${queued.workspaceLimit} execution(s) already`);
    const renew = setInterval(
      () => {
        slots.acquire(queued.workspaceId, queued.executionId, queued.workspaceLimit).catch(() => undefined);
      },
      Math.max(500, Math.floor(this.options.stallMs / 3)),
    );
    try {
      await worker.process(queued);
    } catch (error) {
      this.logger.error(`Running ${queued.executionId} failed: ${(error as Error).message}`);
    } finally {
      clearInterval(renew);
      await slots.release(queued.workspaceId, queued.executionId).catch(() => undefined);
    }
  }
}
