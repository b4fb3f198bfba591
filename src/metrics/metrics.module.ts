import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { ExecutionsModule } from '../executions/executions.module';
import { ExecutorsModule } from '../executors/executors.module';
import { RetentionModule } from '../retention/retention.module';
import { SchedulesModule } from '../schedules/schedules.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { installHttpMetrics } from './http-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';

/** Puts the request hooks on the app's Fastify instance (none when there is no HTTP server, as in the CLI). */
@Injectable()
class HttpMetricsHooks implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.<FastifyInstance>();
    if (typeof fastify?.addHook === 'function') installHttpMetrics(fastify, this.metrics);
  }
}

/** `GET /metrics` (Prometheus text) and the series behind it; see MetricsService. */
@Module({
  imports: [CallbacksModule, ExecutionsModule, ExecutorsModule, SchedulesModule, WebhooksModule, RetentionModule],
  controllers: [MetricsController],
  providers: [MetricsService, HttpMetricsHooks],
  exports: [MetricsService],
})
export class MetricsModule {}
