import { METHOD_METADATA } from '@nestjs/common/constants';
import type { ExceptionFilter } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import type { HookDeliveries } from './hook-deliveries';
import { HOOK_ROUTE } from './hooks.controller';

/**
 * `ANY /v1/hooks/:hookId` answered by a Fastify handler in place of Nest's: the same
 * HookDeliveries.deliver and the same answer as HooksController's, errors through the app's own
 * exception filter (AllExceptionsFilter, which Nest would call with the same request and reply),
 * so every answer, success or refusal, leaves exactly as from Nest. Only Nest's per-request
 * machinery is skipped (the guard chain, the parameter pipes, the response controller: some 5% of
 * a delivery's CPU). Everything else a delivery meets lives in Fastify hooks that both paths
 * share: the request id, the `..` refusal, the raw body parser of the route, the request log
 * line, the HTTP metrics and the deliveries' outcomes (WebhooksModule). Unlike the cached read of
 * src/workflows/hot-read.ts, a delivery cannot fall back to Nest once it has started (it counts
 * failures and rate limits as it goes), so this handler answers all of them.
 * test/e2e/delivery-route.e2e-spec.ts compares both paths byte for byte. What the edge before
 * Fastify takes (delivery-edge.ts: most deliveries) never reaches this handler.
 *
 * Call before the app's routes are registered (before `app.init()`); `deliveries` is read when
 * the route is registered.
 */
export function serveDeliveriesDirectly(fastify: FastifyInstance, deliveries: () => HookDeliveries, errors: ExceptionFilter): void {
  fastify.addHook('onRoute', (route) => {
    // Nest's own handlers of the route (Nest copies a controller method's metadata onto the handler it registers).
    if (route.url !== HOOK_ROUTE || !Reflect.hasMetadata(METHOD_METADATA, route.handler)) return;
    const service = deliveries();
    const deliver: RouteHandlerMethod = async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        reply.send(await service.answer((request.params as { hookId: string }).hookId, request, reply));
      } catch (error) {
        errors.catch(error, new ExecutionContextHost([request, reply]));
      }
    };
    route.handler = deliver;
  });
}
