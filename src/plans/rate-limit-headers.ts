import type { Response } from 'express';

export const RATE_LIMIT_WINDOW_SECONDS = 60;

/**
 * The classic `X-RateLimit-*` trio and the IETF draft pair (draft-ietf-httpapi-ratelimit-headers):
 * `RateLimit-Policy: "workspace";q=60;w=60` and `RateLimit: "workspace";r=59;t=42`.
 */
export function setRateLimitHeaders(
  res: Response,
  policy: string,
  limit: number,
  remaining: number,
  resetSeconds: number,
): void {
  res.setHeader('X-RateLimit-Limit', String(limit));
  res.setHeader('X-RateLimit-Remaining', String(remaining));
  res.setHeader('X-RateLimit-Reset', String(resetSeconds));
  res.setHeader('RateLimit-Policy', `"${policy}";q=${limit};w=${RATE_LIMIT_WINDOW_SECONDS}`);
  res.setHeader('RateLimit', `"${policy}";r=${remaining};t=${resetSeconds}`);
}
