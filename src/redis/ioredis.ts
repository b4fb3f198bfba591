import type * as IORedis from 'ioredis';

let loaded: typeof IORedis | undefined;

/**
 * ioredis, required when the first Redis connection or command is made rather than at boot: the
 * embedded mode (no TENSORIFY_REDIS_URL) never makes one, and requiring ioredis cost every boot
 * some 30 ms of CPU. Kept once required, since the rate limiter asks for it on every request.
 */
export function ioredis(): typeof IORedis {
  // A require, not an import: an import would load it with this module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('ioredis') as typeof IORedis;
  return loaded;
}
