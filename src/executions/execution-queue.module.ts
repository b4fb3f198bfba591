import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Queue } from 'bull';
import type { AppConfig } from '../config/config';
import { RedisConnections, RedisModule } from '../redis/redis.module';
import { BULL_QUEUE_NAME, BullExecutionQueue, bullQueueOptions, type ExecutionJobData } from './bull-execution-queue';
import { EXECUTION_QUEUE, InProcessExecutionQueue } from './execution-queue';
import { WorkspaceSlots } from './workspace-slots';

/**
 * The execution queue of this deployment, for every module: in this process (the embedded mode),
 * or Bull on Redis through @nestjs/bull when TENSORIFY_REDIS_URL is set (the distributed mode).
 * The one place the mode is chosen: what differs between the two (recovery at start, or
 * heartbeats and a periodic reconciliation) is the queue's, behind the ExecutionQueue interface.
 */
@Global()
@Module({})
export class ExecutionQueueModule {
  static forRoot(config: AppConfig): DynamicModule {
    if (config.redisUrl === null) {
      return {
        module: ExecutionQueueModule,
        providers: [{ provide: EXECUTION_QUEUE, useFactory: () => new InProcessExecutionQueue(config.executionConcurrency) }],
        exports: [EXECUTION_QUEUE],
      };
    }
    // Bull (with cron-parser, luxon and msgpackr) is loaded only in this mode: the embedded mode
    // never uses it, and a server that loaded it anyway held some 4 MB more (issue 14's RSS target).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
    const { BullModule, getQueueToken } = require('@nestjs/bull') as typeof import('@nestjs/bull');
    const stallMs = config.workerStallSeconds * 1000;
    return {
      module: ExecutionQueueModule,
      imports: [RedisModule, BullModule.forRoot({ url: config.redisUrl, ...bullQueueOptions(stallMs) }), BullModule.registerQueue({ name: BULL_QUEUE_NAME })],
      providers: [
        {
          provide: EXECUTION_QUEUE,
          inject: [getQueueToken(BULL_QUEUE_NAME), RedisConnections],
          useFactory: (queue: Queue<ExecutionJobData>, redis: RedisConnections) =>
            new BullExecutionQueue(queue, {
              process: config.processExecutions,
              concurrency: config.executionConcurrency,
              stallMs,
              slots: new WorkspaceSlots(redis.client(), stallMs),
            }),
        },
      ],
      exports: [EXECUTION_QUEUE],
    };
  }
}
