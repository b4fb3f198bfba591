import { Logger } from '@nestjs/common';

/** The queue token: one interface, chosen once per deployment by ExecutionQueueModule (in this process, or Bull on Redis). */
export const EXECUTION_QUEUE = Symbol('EXECUTION_QUEUE');

/** A committed execution waiting for a slot. The payload is the id; the rest only schedules it. */
export interface QueuedExecution {
  executionId: string;
  workspaceId: string;
  /** Executions the workspace's plan may have running at once. */
  workspaceLimit: number;
  /** The attempt it waits to run (default 1): a retry is a job of its own. */
  attempt?: number;
  /** How long it waits before it may start (a retry's backoff); default 0. */
  delayMs?: number;
}

/**
 * What a queue calls back (the executions' processor): it runs jobs, and reads and repairs the
 * rows the queue stands for. Each mode uses what it needs: one process alone recovers at start;
 * processes that share a queue stamp their runs and reconcile periodically.
 */
export interface QueueWorker {
  /** Runs a job to its end; it records its own failures on the execution. */
  process(job: QueuedExecution): Promise<void>;
  /** The job of an execution that is still `queued`; null when it is not. */
  job(executionId: string): Promise<QueuedExecution | null>;
  /** The `queued` executions (those created before `before`, when given), oldest first, as jobs. */
  queued(before?: Date): Promise<QueuedExecution[]>;
  /** The only process starts: executions left `running` died with its previous run (WORKER_LOST), unless their executor resumes them. */
  recover(): Promise<void>;
  /**
   * Ends WORKER_LOST the running executions no process has stamped since `before`; how many.
   * With `canResume` (this process runs executions), it takes over and follows again those whose
   * executor can resume them.
   */
  failStalled(before: Date, canResume?: boolean): Promise<number>;
  /** Stamps the executions this process runs, so that the others know it is alive. */
  heartbeat(): Promise<void>;
}

export interface ExecutionQueue {
  /** Adds a committed execution; the worker gets it once a slot is free, globally and in its workspace. */
  enqueue(job: QueuedExecution): void;
  /** Adds committed executions at once (one round trip to Redis for all of them). */
  enqueueMany(jobs: readonly QueuedExecution[]): void;
  /** Takes out a job that has not started; true when it was waiting. */
  remove(executionId: string): boolean;
  /** Brings the queue in step with the rows and starts handing jobs to `worker` (if this process runs executions). */
  start(worker: QueueWorker): Promise<void>;
  /** Stops starting jobs and resolves when the running ones have settled. */
  stop(): Promise<void>;
  stats(): { waiting: number; running: number };
}

/**
 * FIFO in this process with bounded concurrency: a job starts when fewer than `concurrency` run
 * and its workspace has fewer than its limit running. A job held back by its workspace's limit
 * does not block the jobs of other workspaces behind it.
 */
export class InProcessExecutionQueue implements ExecutionQueue {
  private readonly waiting: QueuedExecution[] = [];
  private readonly runningByWorkspace = new Map<string, number>();
  private readonly settled = new Set<Promise<void>>();
  /** Jobs waiting for their backoff, by execution id; the row stays `queued`, so a restart finds them again. */
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  private readonly logger = new Logger('ExecutionQueue');
  private processor?: QueueWorker['process'];
  private running = 0;
  private stopped = false;

  constructor(private readonly concurrency: number) {}

  enqueue(job: QueuedExecution): void {
    if (this.delayed.has(job.executionId)) return;
    if ((job.delayMs ?? 0) > 0) {
      const timer = setTimeout(() => {
        this.delayed.delete(job.executionId);
        this.enqueue({ ...job, delayMs: 0 });
      }, job.delayMs);
      timer.unref();
      this.delayed.set(job.executionId, timer);
      return;
    }
    if (this.waiting.some((waiting) => waiting.executionId === job.executionId)) return;
    this.waiting.push(job);
    this.dispatch();
  }

  enqueueMany(jobs: readonly QueuedExecution[]): void {
    for (const job of jobs) this.enqueue(job);
  }

  remove(executionId: string): boolean {
    const timer = this.delayed.get(executionId);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.delayed.delete(executionId);
      return true;
    }
    const index = this.waiting.findIndex((job) => job.executionId === executionId);
    if (index === -1) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  /** This process is the only one: what ran before it started is lost, what was queued is queued again. */
  async start(worker: QueueWorker): Promise<void> {
    await worker.recover();
    const queued = await worker.queued();
    for (const job of queued) this.enqueue(job);
    if (queued.length > 0) this.logger.log(`${queued.length} queued execution(s) from before the restart queued again`);
    this.processor = (job) => worker.process(job);
    this.stopped = false;
    this.dispatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.delayed.forEach(clearTimeout);
    this.delayed.clear();
    await Promise.all([...this.settled]);
  }

  stats(): { waiting: number; running: number } {
    return { waiting: this.waiting.length + this.delayed.size, running: this.running };
  }

  private dispatch(): void {
    const processor = this.processor;
    if (processor === undefined || this.stopped) return;
    for (let index = 0; index < this.waiting.length && this.running < this.concurrency;) {
      const job = this.waiting[index];
      const busy = this.runningByWorkspace.get(job.workspaceId) ?? 0;
      if (busy >= job.workspaceLimit) {
        index++;
        continue;
      }
      this.waiting.splice(index, 1);
      this.running++;
      this.runningByWorkspace.set(job.workspaceId, busy + 1);
      const settled: Promise<void> = processor(job)
        .catch(() => undefined) // the processor records its own failures on the execution
        .finally(() => {
          this.running--;
          const left = (this.runningByWorkspace.get(job.workspaceId) ?? 1) - 1;
          if (left === 0) this.runningByWorkspace.delete(job.workspaceId);
          else this.runningByWorkspace.set(job.workspaceId, left);
          this.settled.delete(settled);
          this.dispatch();
        });
      this.settled.add(settled);
    }
  }
}
