import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ExecutionsModule } from '../executions/executions.module';
import { NodesModule } from '../nodes/nodes.module';
import { WorkflowsModule } from '../workflows/workflows.module';
import { WorkspacesModule } from '../workspaces/workspaces.module';
import { ScheduleEntity } from './schedule.entity';
import { ScheduleEvents } from './schedule-events';
import { Scheduler } from './scheduler';
import { SchedulesController } from './schedules.controller';
import { SchedulesRepository } from './schedules.repository';
import { SchedulesService } from './schedules.service';

/**
 * Schedules: workflows whose trigger is a `schedule` node start on their own. SchedulesService
 * keeps the `schedules` table in step with the workflows (WorkflowLifecycle) and serves
 * `/v1/workflows/:id/schedule`; the Scheduler fires them through ExecutionsService, exactly once per
 * fire time across every process sharing the database.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ScheduleEntity]), WorkflowsModule, ExecutionsModule, WorkspacesModule, NodesModule],
  controllers: [SchedulesController],
  providers: [SchedulesRepository, SchedulesService, Scheduler, ScheduleEvents],
  exports: [ScheduleEvents, Scheduler],
})
export class SchedulesModule {}
