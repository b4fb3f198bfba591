import { Logger } from '@nestjs/common';
import type Bull from 'bull';
import type Redis from 'ioredis';
import type { ExecutionProcessor, ExecutionQueue, QueuedExecution } from './execution-queue';

export const BULL_QUEUE_NAME = 'tensorify-executions';
const COUNTS_REFRESH_MS = 1000;
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
 * A workspace's running executions across every worker: a sorted set of execution ids scored by
 * when their lease ends. A worker that dies stops renewing, so its slot frees itself.
 */
export class WorkspaceSlots {
  constructor(
    private readonly redis: Redis,
    private readonly leaseMs: number,
  ) {
    redis.defineCommand('tensorifyAcquireSlot', {
      numberOfKeys: 1,
      lua: `
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
          redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
          redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
          return 1
        end
        return 0`,
    });
  }

  private key(workspaceId: string): string {
    return `tensorify:slots:${workspaceId}`;
  }

  /** Takes (or renews) one of the workspace's `limit` slots for the execution; false when all are taken. */
  async acquire(workspaceId: string, executionId: string, limit: number): Promise<boolean> {
    const command = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<number>>).tensorifyAcquireSlot;
    return (await command.call(this.redis, this.key(workspaceId), executionId, limit, this.leaseMs)) === 1;
  }

  async release(workspaceId: string, executionId: string): Promise<void> {
    await this.redis.zrem(this.key(workspaceId), executionId);
  }
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
  /** Executions this process runs at once. */
  concurrency: number;
  /** How long a job's lock (and a workspace slot's lease) lasts without renewal. */
  stallMs: number;
  slots: WorkspaceSlots;
}

/** The job to run for an execution id, from its committed row; null when it is no longer `queued`. */
export type JobResolver = (executionId: string) => Promise<QueuedExecution | null>;

/**
 * The execution queue of the distributed mode: Bull on Redis. Any process may enqueue; the ones
 * that `start` process jobs, `concurrency` at a time, each within its workspace's limit across all
 * workers (`WorkspaceSlots`). A job is the execution id; its row is the truth: a job whose
 * execution is no longer `queued` is dropped, and the conditional `queued → running` update lets
 * one worker only run it. A job lost with Redis is queued again by the reconciler
 * (ExecutionsLifecycle) from the `queued` rows.
 */
export class BullExecutionQueue implements ExecutionQueue {
  private readonly logger = new Logger('ExecutionQueue');
  private counts = { waiting: 0, running: 0 };
  private countsTimer?: NodeJS.Timeout;
  private processing = false;
  private resolve?: JobResolver;

  /** `queue`: the Bull queue @nestjs/bull made (BullModule.registerQueue), with bullQueueOptions(). */
  constructor(
    private readonly queue: Bull.Queue<ExecutionJobData>,
    private readonly options: BullQueueOptions,
  ) {
    this.queue.on('error', (error) => this.logger.warn(`Queue: ${error.message}`));
    this.countsTimer = setInterval(() => void this.refreshCounts(), COUNTS_REFRESH_MS);
    this.countsTimer.unref();
  }

  enqueue(job: QueuedExecution): void {
    // The row is committed: if Redis cannot take the job now, the reconciler queues it later.
    this.queue.add({ executionId: job.executionId }, { jobId: job.executionId }).catch((error: Error) => {
      this.logger.warn(`Could not queue ${job.executionId} (${error.message}); it is queued again once Redis answers`);
    });
  }

  /** Jobs wait in Redis: a cancelled execution's job is dropped when a worker takes it. */
  remove(): boolean {
    return false;
  }

  /** How a worker reads the job of an execution id; set before start(). */
  setResolver(resolve: JobResolver): void {
    this.resolve = resolve;
  }

  start(processor: ExecutionProcessor): void {
    if (this.resolve === undefined) throw new Error('BullExecutionQueue.start() before setResolver()');
    if (this.processing) return;
    this.processing = true;
    void this.queue.process(this.options.concurrency, async (job) => this.handle(job, processor)).catch((error: Error) => {
      this.logger.error(`The queue stopped processing: ${error.message}`);
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.countsTimer);
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

  private async handle(job: Bull.Job<ExecutionJobData>, processor: ExecutionProcessor): Promise<void> {
    let queued: QueuedExecution | null;
    let acquired: boolean;
    const { slots } = this.options;
    try {
      queued = await this.resolve!(job.data.executionId);
      if (queued === null) return;
      acquired = await slots.acquire(queued.workspaceId, queued.executionId, queued.workspaceLimit);
    } catch (error) {
      // The database or Redis is away: the row is still `queued`, and the reconciler queues it again.
      this.logger.warn(`Could not take ${job.data.executionId} (${(error as Error).message}); it is queued again later`);
      return;
    }
    // The workspace is at its limit on the workers: the job waits in Redis (delayed), not in this worker's slot.
    if (!acquired) throw new WorkspaceBusy(`workspace ${queued.workspaceId} runs ${queued.workspaceLimit} execution(s) already`);
    const renew = setInterval(() => {
      slots.acquire(queued.workspaceId, queued.executionId, queued.workspaceLimit).catch(() => undefined);
    }, Math.max(500, Math.floor(this.options.stallMs / 3)));
    try {
      await processor(queued);
    } catch (error) {
      this.logger.error(`Running ${queued.executionId} failed: ${(error as Error).message}`);
    } finally {
      clearInterval(renew);
      await slots.release(queued.workspaceId, queued.executionId).catch(() => undefined);
    }
  }
}
