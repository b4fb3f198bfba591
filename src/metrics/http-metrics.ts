import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCode } from '../common/errors';
import type { MetricsService } from './metrics.service';

/** The `route` label of requests no route matched (Fastify's 404 handler): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The route template Fastify matched (`/v1/workflows/:id`), or `unmatched`: a label of bounded cardinality. */
export function routeLabel(request: FastifyRequest): string {
  return request.routeOptions.url ?? UNMATCHED_ROUTE;
}

export function methodLabel(method: string): string {
  return METHODS.has(method) ? method : 'other';
}

/**
 * Which limiter refused a 429 response. The plan limiter (`WorkspaceRateLimiter`) sets its
 * `RateLimit-Policy: "workspace";…` header before refusing; the per-IP limiter of failed
 * authentications (`ApiKeyAuthenticator`) runs first and refuses with `details.scope: "client-ip"`
 * and no policy header. Null when the response is not a `RATE_LIMITED` error envelope.
 */
export function rateLimiterOf(reply: FastifyReply, payload: unknown): string | null {
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
  if (text === null) return null;
  let body: { error?: { code?: unknown; details?: { scope?: unknown } } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return null;
  }
  if (body?.error?.code !== ErrorCode.RATE_LIMITED) return null;
  if (body.error.details?.scope === 'client-ip') return 'auth_failures';
  const policy = /^"([A-Za-z0-9_-]{1,32})"/.exec(String(reply.getHeader('ratelimit-policy') ?? ''));
  return policy ? policy[1] : 'unknown';
}

/**
 * Counts every response Fastify sends, whoever produced it: handlers, guards (401, 403, 429), the
 * exception filter, Fastify's own 404 and body errors. An interceptor would miss guard rejections.
 * Fastify resolves a route's hooks when it becomes ready, so routes Nest registered before these
 * hooks are counted too.
 */
export function installHttpMetrics(fastify: FastifyInstance, metrics: MetricsService): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (reply.statusCode === 429) {
      const limiter = rateLimiterOf(reply, payload);
      if (limiter !== null) metrics.recordRateLimitRejection(limiter);
    }
    done(null, payload);
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    metrics.recordHttpRequest(methodLabel(request.method), routeLabel(request), reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
}
