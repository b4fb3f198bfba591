import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { toErrorResponse } from './error-envelope';
import { BadRequestError, ErrorCode, HeadersTooLargeError, NotFoundError, RequestTimeoutError } from './errors';
import { newRequestId, REQUEST_ID_HEADER } from './request-id';

/**
 * Requests refused before any route runs, answered in the error envelope like every other error:
 * what Node's HTTP parser cannot read (`clientError`: no request object exists, so the answer is
 * written to the socket), a path that is not valid percent-encoding (Fastify's `frameworkErrors`)
 * and a path that climbs out of its directory (`..` segments, encoded or not).
 */

/** Node's parser error codes that mean the peer is gone, not that it sent something wrong. */
const PEER_GONE = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

function refusalOf(error: NodeJS.ErrnoException & { reason?: string }): Error {
  if (error.code === 'HPE_HEADER_OVERFLOW') return new HeadersTooLargeError('Request headers exceed the size limit of this server');
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return new RequestTimeoutError('The request was not received in time');
  const reason = error.reason ?? error.message;
  return new BadRequestError(ErrorCode.BAD_REQUEST, `Malformed HTTP request: ${reason.replace(/^Parse Error: /, '')}`);
}

/** Fastify's `clientErrorHandler`: answers what the HTTP parser refused with the envelope, then closes. */
export function clientErrorHandler(logger: PinoLogger): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  return (error, socket) => {
    if (PEER_GONE.has(error.code ?? '') || socket.destroyed) {
      logger.debug({ code: error.code }, 'client closed the connection');
      return;
    }
    const requestId = newRequestId();
    const { status, body, headers } = toErrorResponse(refusalOf(error), requestId);
    logger.warn({ requestId, statusCode: status, code: error.code }, 'malformed HTTP request refused');
    // A response already under way on this connection cannot be followed by another one.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (!socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const json = JSON.stringify(body);
    const head = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
      'Content-Type: application/json; charset=utf-8',
      `Content-Length: ${Buffer.byteLength(json)}`,
      `X-Request-Id: ${requestId}`,
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      'Connection: close',
    ];
    socket.end(`${head.join('\r\n')}\r\n\r\n${json}`, () => socket.destroy());
  };
}

/** Fastify's `frameworkErrors`: a path that is not valid percent-encoded UTF-8 (FST_ERR_BAD_URL). */
export function frameworkErrorHandler(error: Error & { code?: string }, request: FastifyRequest, reply: FastifyReply): void {
  const refusal = error.code === 'FST_ERR_BAD_URL' ? new BadRequestError(ErrorCode.BAD_REQUEST, 'The request path is not valid percent-encoded UTF-8') : error;
  const { status, body, headers } = toErrorResponse(refusal, String(request.id));
  void reply.header(REQUEST_ID_HEADER, request.id).headers(headers).status(status).send(body);
}

const CLIMBING_SEGMENT = /(^|[/\\])\.\.([/\\]|$)/;
/** A `..` segment needs a dot, plain or percent-encoded. */
const MAY_CLIMB = /\.|%2e/i;

/** 404 for a path with a `..` segment (after percent-decoding): no route has one, and no file is served from outside its root. */
export function refuseClimbingPaths(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const path = request.url.split('?', 1)[0];
    // Most paths have neither a dot nor an encoded one: nothing to decode on the hot path.
    if (!MAY_CLIMB.test(path)) return done();
    let decoded = path;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      // Fastify has already refused a path that does not decode (frameworkErrorHandler).
    }
    if (CLIMBING_SEGMENT.test(decoded)) return done(new NotFoundError(ErrorCode.NOT_FOUND, 'Not found: paths with ".." segments are not served'));
    done();
  });
}
