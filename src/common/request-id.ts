import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_INCOMING_ID = /^[A-Za-z0-9._:-]{8,128}$/;

/** The request's id: the caller's own `X-Request-Id` when it is sane, else a new one. */
export function generateRequestId(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTABLE_INCOMING_ID.test(incoming) ? incoming : newRequestId();
}

/** A fresh request id, for an answer to bytes that never became a request. */
export function newRequestId(): string {
  return `req_${randomUUID().replace(/-/g, '')}`;
}
