export const RATE_LIMIT_WINDOW_SECONDS = 60;

/** The one throttler: requests counted per workspace, also the policy name of the `RateLimit` headers. */
export const WORKSPACE_THROTTLER = 'workspace';

/** Where response headers go: a FastifyReply, or the cached-read edge's own collection (workflows/hot-read.ts). */
export interface HeaderSink {
  headers(values: Record<string, string>): unknown;
}

/**
 * The classic `X-RateLimit-*` trio and the IETF draft pair (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "workspace";q=60;w=60` and `RateLimit: "workspace";r=59;t=42`. Named in lower
 * case, as Fastify writes every header name, so that a sink writing them as given sends the same bytes.
 */
export function setRateLimitHeaders(reply: HeaderSink, policy: string, limit: number, remaining: number, resetSeconds: number): void {
  reply.headers({
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(resetSeconds),
    'ratelimit-policy': `"${policy}";q=${limit};w=${RATE_LIMIT_WINDOW_SECONDS}`,
    ratelimit: `"${policy}";r=${remaining};t=${resetSeconds}`,
  });
}
