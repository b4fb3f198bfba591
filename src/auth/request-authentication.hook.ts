import type { IncomingMessage } from 'node:http';
import { METHOD_METADATA } from '@nestjs/common/constants';
import type { FastifyInstance, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import type { HeaderSink } from '../plans/rate-limit-headers';
import type { ApiKeyAuthenticator, CredentialsOf } from './api-key.authenticator';
import type { AuthContext } from './auth-context';
import { IS_PUBLIC } from './auth.decorators';
import type { WorkspaceRateLimiter } from './workspace-rate.limiter';

/** Nest's routes need a key unless `@Public()`; Fastify's own (Swagger UI, the 404 handler) need none. */
function routeNeedsKey(route: RouteOptions): boolean {
  // Nest copies a controller method's metadata onto the handler it registers with Fastify.
  return Reflect.hasMetadata(METHOD_METADATA, route.handler) && Reflect.getMetadata(IS_PUBLIC, route.handler) !== true;
}

/**
 * What admitting a request decided, when it was decided before Fastify saw the request (by the
 * cached-read edge of workflows/hot-read.ts, which then handed the request on): the caller and
 * the rate-limit headers, or the error that refuses it. Applied by the route's hook in place of
 * admitting again, so a request is authenticated and counted once, whoever answers it.
 */
export interface Admission {
  auth?: AuthContext;
  headers?: Record<string, string>;
  /** What admitting threw (anything thrown is answered by the exception filter, an Error or not). */
  refusal?: unknown;
}

const ADMISSION = Symbol('admission');

/** Authenticates the request, then counts it against its workspace's rate limit (whose headers go to `sink`). */
export async function admit(
  authenticator: ApiKeyAuthenticator,
  rateLimiter: WorkspaceRateLimiter,
  request: CredentialsOf,
  sink: HeaderSink,
): Promise<AuthContext> {
  const auth = await authenticator.authenticate(request);
  await rateLimiter.count(auth, sink);
  return auth;
}

/**
 * `admit` at once, when everything it needs is in this process (the key cached, the counters in
 * memory): the caller, or what refuses the request thrown. Undefined, with nothing done, when it
 * needs to wait for something: then `admit` decides. For the cached-read edge, which answers in
 * the same turn instead of a promise per step.
 */
export function admitNow(
  authenticator: ApiKeyAuthenticator,
  rateLimiter: WorkspaceRateLimiter,
  request: Omit<CredentialsOf, 'query'>,
  sink: HeaderSink,
): AuthContext | undefined {
  if (!rateLimiter.countsNow) return undefined;
  const auth = authenticator.authenticateNow(request);
  if (auth === undefined) return undefined;
  rateLimiter.countNow(auth, sink);
  return auth;
}

/** Hands a request admitted outside Fastify to the route's hook, with what admitting it decided. */
export function markAdmitted(raw: IncomingMessage, admission: Admission): void {
  (raw as IncomingMessage & { [ADMISSION]?: Admission })[ADMISSION] = admission;
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
  const admitBeforeTheBody: onRequestAsyncHookHandler = async (request, reply) => {
    const admitted = (request.raw as IncomingMessage & { [ADMISSION]?: Admission })[ADMISSION];
    if (admitted === undefined) {
      await admit(authenticator, rateLimiter, request, reply);
      return;
    }
    if (admitted.auth !== undefined) (request as { user?: AuthContext }).user = admitted.auth;
    if (admitted.headers !== undefined) reply.headers(admitted.headers);
    // eslint-disable-next-line @typescript-eslint/only-throw-error -- rethrown as admitting threw it, for the same answer
    if (admitted.refusal !== undefined) throw admitted.refusal;
  };
  fastify.addHook('onRoute', (route) => {
    if (!routeNeedsKey(route)) return;
    const own = route.onRequest;
    route.onRequest = [admitBeforeTheBody, ...(own === undefined ? [] : Array.isArray(own) ? own : [own])];
  });
}
