import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { ScopesGuard } from './auth/scopes.guard';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { Clock, systemClock } from './common/clock';
import { CommonModule } from './common/common.module';
import { ApiValidationPipe } from './common/validation.pipe';
import type { AppConfig } from './config/config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { CodegenModule } from './codegen/codegen.module';
import { ExecutionsModule } from './executions/executions.module';
import { ExecutorsModule } from './executors/executors.module';
import { CallbacksModule } from './callbacks/callbacks.module';
import { MetricsModule } from './metrics/metrics.module';
import { NodesModule } from './nodes/nodes.module';
import { ExecutionQueueModule } from './executions/execution-queue.module';
import { RetentionModule } from './retention/retention.module';
import { SchedulesModule } from './schedules/schedules.module';
import { SystemModule } from './system/system.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WorkflowsModule } from './workflows/workflows.module';
import { WorkspacesModule } from './workspaces/workspaces.module';

export interface AppModuleOptions {
  config: AppConfig;
  clock?: Clock;
  /** Database connection attempts before boot fails; tests pass 0. */
  databaseRetryAttempts?: number;
}

/** The application modules without HTTP concerns: what the server and the CLI both need. */
export function coreImports({ config, clock = systemClock, databaseRetryAttempts = 3 }: AppModuleOptions) {
  return [
    ConfigModule.forRoot(config),
    CommonModule.forRoot(clock),
    DatabaseModule.forRoot({ retryAttempts: databaseRetryAttempts }),
    ExecutionQueueModule.forRoot(config),
    WorkspacesModule,
    AuthModule,
    ApiKeysModule,
  ];
}

@Module({})
export class AppModule {
  /** API key (and per-IP failure limit) → plan rate limit, before the body (AuthModule's onRequest hook) → scope (the one guard). */
  static forRoot(options: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ...coreImports(options),
        NodesModule,
        CodegenModule,
        WorkflowsModule,
        ExecutionsModule,
        SchedulesModule,
        WebhooksModule,
        RetentionModule,
        CallbacksModule,
        ExecutorsModule,
        SystemModule,
        MetricsModule,
      ],
      providers: [
        { provide: APP_GUARD, useExisting: ScopesGuard },
        { provide: APP_PIPE, useClass: ApiValidationPipe },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
      ],
    };
  }
}
