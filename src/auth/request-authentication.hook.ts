import { METHOD_METADATA } from '@nestjs/common/constants';
import type { FastifyInstance, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import type { ApiKeyAuthenticator } from './api-key.authenticator';
import { IS_PUBLIC } from './auth.decorators';
import type { WorkspaceRateLimiter } from './workspace-rate.limiter';

/** Nest's routes need a key unless `@Public()`; Fastify's own (Swagger UI, the 404 handler) need none. */
function routeNeedsKey(route: RouteOptions): boolean {
  // Nest copies a controller method's metadata onto the handler it registers with Fastify.
  return Reflect.hasMetadata(METHOD_METADATA, route.handler) && Reflect.getMetadata(IS_PUBLIC, route.handler) !== true;
}

/**
 * Authenticates and counts each request in Fastify's `onRequest` stage, before its body is read:
 * without a valid key the answer is 401 and the body is never parsed; every authenticated request
 * counts against its workspace's rate limit, whatever its body turns out to be. The hook is put on
 * each route that needs a key as the route is registered, so public routes pay nothing. The
 * route's scope is checked afterwards by ScopesGuard, in Nest's guard chain. Call before the app's
 * routes are registered (before `app.init()`).
 */
export function authenticateBeforeTheBody(fastify: FastifyInstance, authenticator: ApiKeyAuthenticator, rateLimiter: WorkspaceRateLimiter): void {
  const admit: onRequestAsyncHookHandler = async (request, reply) => {
    const auth = await authenticator.authenticate(request);
    await rateLimiter.count(auth, reply);
  };
  fastify.addHook('onRoute', (route) => {
    if (!routeNeedsKey(route)) return;
    const own = route.onRequest;
    route.onRequest = [admit, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  });
}
