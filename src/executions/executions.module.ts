import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CodegenModule } from '../codegen/codegen.module';
import { ExecutorsModule } from '../executors/executors.module';
import { NodesModule } from '../nodes/nodes.module';
import { RedisModule } from '../redis/redis.module';
import { WorkflowsModule } from '../workflows/workflows.module';
import { ExecutionAttemptEntity, ExecutionEntity, ExecutionLogEntity } from './execution.entity';
import { ExecutionBus } from './execution-bus';
import { ExecutionCommits } from './execution-commits';
import { ExecutionEvents } from './execution-events';
import { ExecutionLogs } from './execution-logs';
import { ExecutionPurge } from './execution-purge';
import { ExecutionRunner } from './execution-runner';
import { ExecutionsController } from './executions.controller';
import { ExecutionsProcessor } from './executions.processor';
import { ExecutionsRepository } from './executions.repository';
import { ExecutionsService } from './executions.service';
import { ProgramEntity } from './program.entity';
import { ProgramsRepository } from './programs.repository';

/**
 * Executions: `/v1/workflows/:id/execute` and `/v1/executions`, the rows (ExecutionsRepository),
 * the queue's worker (ExecutionsProcessor) and the runner that hands a run to its executor. The
 * queue itself is the deployment's (ExecutionQueueModule).
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([ExecutionEntity, ExecutionLogEntity, ExecutionAttemptEntity, ProgramEntity]),
    WorkflowsModule,
    CodegenModule,
    ExecutorsModule,
    RedisModule,
    NodesModule,
  ],
  controllers: [ExecutionsController],
  providers: [
    ExecutionsRepository,
    ProgramsRepository,
    ExecutionsService,
    ExecutionRunner,
    ExecutionLogs,
    ExecutionEvents,
    ExecutionsProcessor,
    ExecutionBus,
    ExecutionPurge,
    ExecutionCommits,
  ],
  exports: [ExecutionsService, ExecutionEvents, ExecutionPurge],
})
export class ExecutionsModule {}
