import { randomFillSync } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id: the caller's own `X-Request-Id` when it is sane, else a new one. */
export function generateRequestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTABLE_INCOMING_ID.test(incoming) ? incoming : newRequestId();
}

const UUID_BYTES = 16;
const POOLED_IDS = 256;
/** Random bytes for the next ids, filled POOLED_IDS ids at a time, and the same as hex. */
const pool = Buffer.alloc(UUID_BYTES * POOLED_IDS);
let pooledHex = '';
let next = pool.length;

/**
 * A fresh request id (`req_` and the 32 hex digits of a random UUID), for a request without a sane
 * one of its own, and for an answer to bytes that never became a request. The UUID is made here,
 * as `crypto.randomUUID` makes it (RFC 9562 version 4: random bytes with the version and variant
 * bits set), but written as hex for a pool of ids in one native call, each id then a slice of that
 * text: `randomUUID`'s text with its dashes cut out built some 900 bytes of strings per request,
 * the biggest allocation of a cached GET, and a native call per id cost more than the slice.
 */
export function newRequestId(): string {
  if (next === pool.length) {
    randomFillSync(pool);
    for (let at = 0; at < pool.length; at += UUID_BYTES) {
      pool[at + 6] = (pool[at + 6] & 0x0f) | 0x40; // version 4
      pool[at + 8] = (pool[at + 8] & 0x3f) | 0x80; // variant 10
    }
    pooledHex = pool.toString('hex');
    next = 0;
  }
  const at = next;
  next += UUID_BYTES;
  return `req_${pooledHex.slice(at * 2, (at + UUID_BYTES) * 2)}`;
}
