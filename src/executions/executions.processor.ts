import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Clock, CLOCK } from '../common/clock';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { workspaceConcurrency } from './execution-limits';
import { EXECUTION_QUEUE, type ExecutionQueue, type QueuedExecution, type QueueWorker } from './execution-queue';
import { ExecutionRunner } from './execution-runner';
import { ExecutionsRepository } from './executions.repository';

/** How long a shutdown waits for running executions to stop. */
const SHUTDOWN_DRAIN_MS = 15_000;

/**
 * The queue's worker: once the app is up it starts the queue (which first brings itself in step
 * with the rows, as its mode requires) and hands its jobs to the runner. On shutdown, running
 * executions are stopped (they end WORKER_LOST) and the queue drains; the executors are closed
 * after (ExecutorsModule).
 */
@Injectable()
export class ExecutionsProcessor implements QueueWorker, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Executions');

  constructor(
    private readonly runner: ExecutionRunner,
    private readonly executions: ExecutionsRepository,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Not awaited: with Redis down the instance still starts (and says so in /health/ready); it listens once Redis is back.
    void this.runner.listenForCancels();
    await this.queue.start(this);
    // After the start: the queue itself queues again what recovery left queued.
    this.runner.useJobs((executionId) => this.job(executionId));
  }

  process(job: QueuedExecution): Promise<void> {
    return this.runner.process(job);
  }

  async job(executionId: string): Promise<QueuedExecution | null> {
    return (await this.jobs({ id: executionId }))[0] ?? null;
  }

  queued(before?: Date): Promise<QueuedExecution[]> {
    return this.jobs({ before });
  }

  recover(): Promise<void> {
    return this.runner.recover();
  }

  failStalled(before: Date, canResume?: boolean): Promise<number> {
    return this.runner.failStalled(before, canResume);
  }

  heartbeat(): Promise<void> {
    return this.runner.heartbeat();
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.runner.abortAll();
    // An executor that ignores its abort signal must not hold the server up forever. Runs resumed
    // after a restart are not the queue's: they are waited for too.
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      Promise.all([this.queue.stop(), this.runner.settled()]).then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_DRAIN_MS))),
    ]);
    clearTimeout(timer);
    if (!drained) this.logger.warn(`Running executions did not stop within ${SHUTDOWN_DRAIN_MS / 1000} s of shutdown; stopping anyway`);
  }

  private async jobs(filter: { id?: string; before?: Date }): Promise<QueuedExecution[]> {
    const rows = await this.executions.findQueued(filter);
    const now = this.clock.now();
    return rows.map(({ executionId, workspaceId, plan, attempt, nextAttemptAt }) => ({
      executionId,
      workspaceId,
      workspaceLimit: workspaceConcurrency(plan, this.config),
      attempt,
      // A retry waiting for its backoff waits what is left of it.
      delayMs: nextAttemptAt === null ? 0 : Math.max(0, nextAttemptAt.getTime() - now),
    }));
  }
}
