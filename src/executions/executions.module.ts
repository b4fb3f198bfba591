import { BeforeApplicationShutdown, Inject, Injectable, Logger, Module, OnApplicationBootstrap } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { rawQuery } from '../database/raw-query';
import { createExecutorRegistry, ExecutorRegistry } from '../executors/executor-registry';
import type { Plan } from '../plans/plans';
import { WorkflowsModule } from '../workflows/workflows.module';
import { ExecutionEntity, ExecutionLogEntity } from './execution.entity';
import { EXECUTION_QUEUE, type ExecutionQueue, InProcessExecutionQueue } from './execution-queue';
import { ExecutionEvents } from './execution-events';
import { ExecutionLogs } from './execution-logs';
import { ExecutionRunner } from './execution-runner';
import { ExecutionsController } from './executions.controller';
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

  constructor(
    private readonly runner: ExecutionRunner,
    private readonly service: ExecutionsService,
    private readonly registry: ExecutorRegistry,
    private readonly dataSource: DataSource,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.runner.recover();
    const queued = await rawQuery<{ id: string; workspace_id: string; plan: Plan }>(
      this.dataSource,
      "SELECT e.id, e.workspace_id, w.plan FROM executions e JOIN workspaces w ON w.id = e.workspace_id WHERE e.status = 'queued' ORDER BY e.created_at, e.id",
      {},
    );
    for (const row of queued) {
      this.queue.enqueue({ executionId: row.id, workspaceId: row.workspace_id, workspaceLimit: this.service.concurrencyLimit({ plan: row.plan }) });
    }
    if (queued.length > 0) this.logger.log(`${queued.length} queued execution(s) from before the restart queued again`);
    this.queue.start(this.runner.process);
  }

  async beforeApplicationShutdown(): Promise<void> {
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
  imports: [TypeOrmModule.forFeature([ExecutionEntity, ExecutionLogEntity]), WorkflowsModule],
  controllers: [ExecutionsController],
  providers: [
    ExecutionsService,
    ExecutionRunner,
    ExecutionLogs,
    ExecutionEvents,
    ExecutionsLifecycle,
    { provide: EXECUTION_QUEUE, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new InProcessExecutionQueue(config.executionConcurrency) },
    { provide: ExecutorRegistry, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createExecutorRegistry(config) },
  ],
  exports: [ExecutionsService, ExecutorRegistry, EXECUTION_QUEUE, ExecutionEvents],
})
export class ExecutionsModule {}
