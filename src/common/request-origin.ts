import type { FastifyRequest } from 'fastify';

/**
 * `scheme://host[:port]` the client used to reach this request, for absolute URLs in a response
 * (behind a trusted proxy, Fastify takes them from `X-Forwarded-Proto` / `X-Forwarded-Host`).
 */
export function requestOrigin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}
