import { numberText } from '../common/number-text';

export const RATE_LIMIT_WINDOW_SECONDS = 60;

/** The one throttler: requests counted per workspace, also the policy name of the `RateLimit` headers. */
export const WORKSPACE_THROTTLER = 'workspace';

/** Where response headers go: a FastifyReply, or the cached-read edge's own list (workflows/hot-read.ts). */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

/** `RateLimit-Policy` of the last policy and limit asked for: the same for every request of a workspace. */
let lastPolicy = { policy: '', limit: -1, limitText: '', header: '' };

/**
 * The classic `X-RateLimit-*` trio and the IETF draft pair (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "workspace";q=60;w=60` and `RateLimit: "workspace";r=59;t=42`. Named in lower
 * case, as Fastify writes every header name, so that a sink writing them as given sends the same
 * bytes. One header at a time, into the sink: no object of headers per request.
 */
export function setRateLimitHeaders(reply: HeaderSink, policy: string, limit: number, remaining: number, resetSeconds: number): void {
  if (lastPolicy.policy !== policy || lastPolicy.limit !== limit)
    lastPolicy = { policy, limit, limitText: numberText(limit), header: `"${policy}";q=${limit};w=${RATE_LIMIT_WINDOW_SECONDS}` };
  reply.header('x-ratelimit-limit', lastPolicy.limitText);
  reply.header('x-ratelimit-remaining', numberText(remaining));
  reply.header('x-ratelimit-reset', numberText(resetSeconds));
  reply.header('ratelimit-policy', lastPolicy.header);
  reply.header('ratelimit', `"${policy}";r=${numberText(remaining)};t=${numberText(resetSeconds)}`);
}
