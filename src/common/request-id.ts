import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id: the caller's own `X-Request-Id` when it is sane, else a new one. */
export function generateRequestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTABLE_INCOMING_ID.test(incoming) ? incoming : newRequestId();
}

/**
 * A fresh request id (`req_` and the 32 hex digits of a random UUID), for a request without a sane
 * one of its own, and for an answer to bytes that never became a request. The UUID's dashes are cut
 * out by position: a global regex replace costs more than the UUID itself, on every request.
 */
export function newRequestId(): string {
  const uuid = randomUUID();
  return `req_${uuid.slice(0, 8)}${uuid.slice(9, 13)}${uuid.slice(14, 18)}${uuid.slice(19, 23)}${uuid.slice(24)}`;
}
