import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { FastifyInstance } from 'fastify';
import { AuthModule } from '../auth/auth.module';
import { ExecutionsModule } from '../executions/executions.module';
import { NodesModule } from '../nodes/nodes.module';
import { WorkflowsModule } from '../workflows/workflows.module';
import { HookEntity } from './hook.entity';
import { HookDeliveries } from './hook-deliveries';
import { HOOK_ROUTE, HooksController } from './hooks.controller';
import { HooksRepository } from './hooks.repository';
import { SecretBox } from './secret-box';
import { WebhookEvents } from './webhook-events';
import { WebhooksController } from './webhooks.controller';
import { WebhooksService } from './webhooks.service';

/** Tells WebhookEvents how each delivery ended, whoever answered it (the handler, the body parser's 413, a 429 before the handler). */
@Injectable()
class DeliveryOutcomes implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly deliveries: HookDeliveries,
    private readonly events: WebhookEvents,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance?.<FastifyInstance>();
    if (typeof fastify?.addHook !== 'function') return;
    fastify.addHook('onResponse', (request, reply, done) => {
      if (request.routeOptions.url === HOOK_ROUTE) this.events.delivered(this.deliveries.outcomeOf(request, reply.statusCode));
      done();
    });
  }
}

/**
 * Webhooks: the hook of each webhook-triggered workflow (made and removed as workflows are saved
 * and deleted, through WorkflowLifecycle), `GET /v1/workflows/:id/webhook` and its rotation, and
 * the public `/v1/hooks/:hookId` that turns a signed delivery into an execution.
 */
@Module({
  imports: [TypeOrmModule.forFeature([HookEntity]), AuthModule, NodesModule, WorkflowsModule, ExecutionsModule],
  controllers: [WebhooksController, HooksController],
  providers: [HooksRepository, SecretBox, WebhooksService, HookDeliveries, WebhookEvents, DeliveryOutcomes],
  exports: [WebhookEvents],
})
export class WebhooksModule {}
