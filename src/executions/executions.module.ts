import { BeforeApplicationShutdown, Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { CodegenModule } from '../codegen/codegen.module';
import { rawQuery } from '../database/raw-query';
import { createExecutorRegistry, ExecutorRegistry } from '../executors/executor-registry';
import type { Plan } from '../plans/plans';
import { RedisModule } from '../redis/redis.module';
import { WorkflowsModule } from '../workflows/workflows.module';
import { ExecutionEntity, ExecutionLogEntity } from './execution.entity';
import { BullExecutionQueue } from './bull-execution-queue';
import { ExecutionBus } from './execution-bus';
import { EXECUTION_QUEUE, type ExecutionQueue, type QueuedExecution } from './execution-queue';
import { ExecutionEvents } from './execution-events';
import { ExecutionLogs } from './execution-logs';
import { ExecutionRunner } from './execution-runner';
import { ExecutionsController } from './executions.controller';
import { ExecutorsController } from './executors.controller';
import { ExecutionsService } from './executions.service';

/** How long a shutdown waits for running executions to stop. */
const SHUTDOWN_DRAIN_MS = 15_000;

/**
 * Starts the queue once the app is up, after recovering what a previous run of the server left:
 * `running` executions end WORKER_LOST, `queued` ones are queued again. On shutdown, running
 * executions are stopped (they end WORKER_LOST), then the executors are closed.
 */
@Injectable()
class ExecutionsLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Executions');

  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly runner: ExecutionRunner,
    private readonly service: ExecutionsService,
    private readonly registry: ExecutorRegistry,
    private readonly dataSource: DataSource,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.queue instanceof BullExecutionQueue) return this.bootstrapDistributed(this.queue);
    await this.runner.recover();
    const queued = await this.queuedJobs();
    for (const job of queued) this.queue.enqueue(job);
    if (queued.length > 0) this.logger.log(`${queued.length} queued execution(s) from before the restart queued again`);
    this.queue.start(this.runner.process);
  }

  /**
   * Distributed mode: no process may assume the running executions were its own. Workers stamp
   * theirs; every process ends those not stamped for the stall interval WORKER_LOST, and queues
   * again the `queued` rows whose job Redis lost (a restart without persistence): a job id is the
   * execution id, so one still there is not added twice, and a worker runs an execution only
   * through the conditional `queued → running` update.
   */
  private async bootstrapDistributed(queue: BullExecutionQueue): Promise<void> {
    const stallMs = this.config.workerStallSeconds * 1000;
    queue.setResolver(async (executionId) => (await this.queuedJobs({ id: executionId }))[0] ?? null);
    // Not awaited: with Redis down the instance still starts (and says so in /health/ready); it listens once Redis is back.
    void this.runner.listenForCancels();
    if (this.config.processExecutions) {
      queue.start(this.runner.process);
      this.every(stallMs / 3, () => this.runner.heartbeat());
    }
    this.every(stallMs / 2, async () => {
      const lost = await this.runner.failStalled(new Date(Date.now() - stallMs));
      if (lost > 0) this.logger.warn(`${lost} execution(s) whose worker stopped answering ended WORKER_LOST`);
      for (const job of await this.queuedJobs({ before: new Date(Date.now() - stallMs / 2) })) queue.enqueue(job);
    });
  }

  private every(ms: number, task: () => Promise<unknown>): void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      task()
        .catch((error: Error) => this.logger.warn(`Execution upkeep failed: ${error.message}`))
        .finally(() => (busy = false));
    }, Math.max(500, Math.floor(ms)));
    timer.unref();
    this.timers.push(timer);
  }

  /** The queued executions (only `id`, or those created before `before`, when given), oldest first, as queue jobs. */
  private async queuedJobs(filter: { id?: string; before?: Date } = {}): Promise<QueuedExecution[]> {
    const conditions = ["e.status = 'queued'", ...(filter.id ? ['e.id = :id'] : []), ...(filter.before ? ['e.created_at < :before'] : [])];
    const rows = await rawQuery<{ id: string; workspace_id: string; plan: Plan }>(
      this.dataSource,
      `SELECT e.id, e.workspace_id, w.plan FROM executions e JOIN workspaces w ON w.id = e.workspace_id WHERE ${conditions.join(' AND ')} ORDER BY e.created_at, e.id`,
      { ...(filter.id ? { id: filter.id } : {}), ...(filter.before ? { before: filter.before.toISOString() } : {}) },
    );
    return rows.map((row) => ({ executionId: row.id, workspaceId: row.workspace_id, workspaceLimit: this.service.concurrencyLimit({ plan: row.plan }) }));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.timers.forEach(clearInterval);
    this.runner.abortAll();
    // An executor that ignores its abort signal must not hold the server up forever.
    let timer: NodeJS.Timeout | undefined;
    const drained = await Promise.race([
      this.queue.stop().then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_DRAIN_MS))),
    ]);
    clearTimeout(timer);
    if (!drained) this.logger.warn(`Running executions did not stop within ${SHUTDOWN_DRAIN_MS / 1000} s of shutdown; stopping anyway`);
    await this.registry.closeAll();
  }
}

@Module({
  imports: [TypeOrmModule.forFeature([ExecutionEntity, ExecutionLogEntity]), WorkflowsModule, CodegenModule, RedisModule],
  controllers: [ExecutionsController, ExecutorsController],
  providers: [
    ExecutionsService,
    ExecutionRunner,
    ExecutionLogs,
    ExecutionEvents,
    ExecutionsLifecycle,
    ExecutionBus,
    { provide: ExecutorRegistry, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createExecutorRegistry(config) },
  ],
  exports: [ExecutionsService, ExecutorRegistry, ExecutionEvents],
})
export class ExecutionsModule {}
