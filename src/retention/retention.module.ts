import { Module } from '@nestjs/common';
import { ExecutionsModule } from '../executions/executions.module';
import { RetentionEvents } from './retention-events';
import { RetentionJob } from './retention-job';
import { RequestStartsHook } from './request-starts.hook';

/**
 * Retention: the background job that deletes finished executions older than their workspace's
 * `retentionDays` (RetentionJob), above executions (it deletes through ExecutionPurge). The
 * `retentionDays` setting itself is the workspace's (WorkspacesModule).
 */
@Module({
  imports: [ExecutionsModule],
  providers: [RetentionJob, RetentionEvents, RequestStartsHook],
  exports: [RetentionJob, RetentionEvents],
})
export class RetentionModule {}
