import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { authContextOf } from '../auth/auth-context';
import { REQUIRED_SCOPE } from '../auth/auth.decorators';
import { hasScope, SCOPES, type Scope } from '../auth/scopes';
import { presentWorkflow } from './workflows.controller';
import type { WorkflowsService } from './workflows.service';

/** The one route served this way: the most frequent read of the API. */
const HOT_ROUTE = '/v1/workflows/:id';

/**
 * GET (and HEAD) /v1/workflows/:id answered from the workflow cache by a Fastify handler put in
 * front of Nest's, when the answer is the plain 200 the controller would give: the caller's key
 * holds the route's scope and the workflow is cached and of the caller's workspace. Anything else
 * (a cache miss, a missing scope, another workspace's or an unknown id) goes on to Nest's handler
 * unchanged, which answers it through the guard, the controller and the exception filter.
 *
 * Only Nest's per-request machinery is skipped (the guard chain, the parameter pipes, the
 * response controller: about a quarter of the CPU of a cached read). Everything else a request
 * meets lives in Fastify hooks that both paths share: the request id, the `..` refusal,
 * authentication and the workspace rate limit (authenticateBeforeTheBody, with their 401, 429
 * and headers), the request log line and the HTTP metrics. The body and headers come from the
 * controller's own presentWorkflow. test/e2e/hot-read.e2e-spec.ts compares both paths byte for
 * byte.
 *
 * Call before the app's routes are registered (before `app.init()`). `workflows` is read when the
 * route is registered, so the service must exist by then.
 */
export function answerCachedWorkflowReads(fastify: FastifyInstance, workflows: () => WorkflowsService): void {
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (route.url !== HOT_ROUTE || !methods.every((method) => method === 'GET' || method === 'HEAD')) return;
    // The scope the controller method declares (Nest copies its metadata onto the handler it registers).
    const scope: unknown = Reflect.getMetadata(REQUIRED_SCOPE, route.handler);
    if (!SCOPES.includes(scope as Scope)) return; // not the route this was written for: leave it to Nest
    const required = scope as Scope;
    const service = workflows();
    const nest = route.handler;
    const cachedRead: RouteHandlerMethod = function (request, reply) {
      const auth = authContextOf(request);
      const workflow = auth && hasScope(auth.apiKey.scopes, required) ? service.cached(auth.workspace.id, (request.params as { id: string }).id) : undefined;
      if (workflow === undefined) return nest.call(this, request, reply);
      return presentWorkflow(workflow, reply);
    };
    route.handler = cachedRead;
  });
}
