/** The queue token: one interface, an in-process implementation now, Bull with the scale-out issue. */
export const EXECUTION_QUEUE = Symbol('EXECUTION_QUEUE');

/** A committed execution waiting for a slot. The payload is the id; the rest only schedules it. */
export interface QueuedExecution {
  executionId: string;
  workspaceId: string;
  /** Executions the workspace's plan may have running at once. */
  workspaceLimit: number;
}

export type ExecutionProcessor = (job: QueuedExecution) => Promise<void>;

export interface ExecutionQueue {
  /** Adds a committed execution; the processor gets it once a slot is free, globally and in its workspace. */
  enqueue(job: QueuedExecution): void;
  /** Takes out a job that has not started; true when it was waiting. */
  remove(executionId: string): boolean;
  start(processor: ExecutionProcessor): void;
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
  private processor?: ExecutionProcessor;
  private running = 0;
  private stopped = false;

  constructor(private readonly concurrency: number) {}

  enqueue(job: QueuedExecution): void {
    if (this.waiting.some((waiting) => waiting.executionId === job.executionId)) return;
    this.waiting.push(job);
    this.dispatch();
  }

  remove(executionId: string): boolean {
    const index = this.waiting.findIndex((job) => job.executionId === executionId);
    if (index === -1) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  start(processor: ExecutionProcessor): void {
    this.processor = processor;
    this.stopped = false;
    this.dispatch();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.settled]);
  }

  stats(): { waiting: number; running: number } {
    return { waiting: this.waiting.length, running: this.running };
  }

  private dispatch(): void {
    const processor = this.processor;
    if (processor === undefined || this.stopped) return;
    for (let index = 0; index < this.waiting.length && this.running < this.concurrency; ) {
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
