import type { FastifyReply } from 'fastify';

export const RATE_LIMIT_WINDOW_SECONDS = 60;

/**
 * The classic `X-RateLimit-*` trio and the IETF draft pair (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "workspace";q=60;w=60` and `RateLimit: "workspace";r=59;t=42`.
 */
export function setRateLimitHeaders(reply: FastifyReply, policy: string, limit: number, remaining: number, resetSeconds: number): void {
  reply.headers({
    'X-RateLimit-Limit': String(limit),
    'X-RateLimit-Remaining': String(remaining),
    'X-RateLimit-Reset': String(resetSeconds),
    'RateLimit-Policy': `"${policy}";q=${limit};w=${RATE_LIMIT_WINDOW_SECONDS}`,
    RateLimit: `"${policy}";r=${remaining};t=${resetSeconds}`,
  });
}
