import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { ExceptionFilter } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import type { FastifyInstance } from 'fastify';
import { jsonTextParser, RawBody } from '../common/json-body';
import { type RequestLine, requestLineLevel } from '../common/logging';
import { generateRequestId, REQUEST_ID_HEADER } from '../common/request-id';
import type { AppConfig } from '../config/config';
import type { HeaderSink } from '../plans/rate-limit-headers';
import { type Delivery, deliveryOutcome, type DeliveryAnswer, type HookDeliveries } from './hook-deliveries';
import { HOOK_ROUTE } from './hooks.controller';
import type { DeliveryOutcome, WebhookEvents } from './webhook-events';

/** A delivery's path the edge takes: a hook id of the characters ids have (no dot, no percent-encoding, no query string). */
const HOOK_PATH = /^\/v1\/hooks\/([A-Za-z0-9_-]{1,200})$/;
/** The methods whose body Fastify reads (its `bodywith` methods, but OPTIONS, which no hook takes). */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The methods the edge may take, when the hook route has them: not HEAD (Fastify's own route beside GET's) nor OPTIONS. */
const TAKEN_METHODS = new Set(['GET', ...BODY_METHODS]);
/** A Content-Type that Fastify's parser of media types takes (a type/subtype of token characters, then parameters); for others Fastify answers 415 itself. */
const PLAIN_CONTENT_TYPE = /^[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+(?:\s*;.*)?$/;
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** What the edge needs of the app; the providers are read when the hook route is registered. */
export interface DeliveryEdgeOptions extends Pick<AppConfig, 'bodyLimitBytes' | 'trustProxy'> {
  providers: () => { deliveries: HookDeliveries; events: WebhookEvents };
  /** The app's exception filter (AllExceptionsFilter): it words every refusal, as for Fastify's path. */
  errors: ExceptionFilter;
  /** The request log line, as the app's `onResponse` hook writes it (requestLineWriter). */
  writeLine: (level: 'info' | 'warn' | 'error', line: RequestLine) => void;
  /** The HTTP metrics of a sent response, as the app's metrics hooks record them (the limiter of a 429 read from its headers and body). */
  recordRequest: (method: string, route: string, status: number, seconds: number, sent: { headers: Record<string, string>; body: string }) => void;
}

/** A response the edge sends: its status, headers (lower-case names, in the order Fastify would write them) and JSON text. */
interface EdgeAnswer {
  status: number;
  headers: Record<string, string>;
  json: string;
  outcome: DeliveryOutcome;
}

/** Headers set as Fastify's `reply.headers` sets them: names lower-cased, a name set again keeping its place. */
function setHeaders(into: Record<string, string>, values: Record<string, string>): void {
  for (const name in values) into[name.toLowerCase()] = values[name];
}

/**
 * What the app's exception filter answers for `error`, collected rather than sent (the filter
 * writes through a Fastify reply: it is given one that keeps what it is told); undefined when it
 * answers nothing (the client went away).
 */
function refusalOf(
  errors: ExceptionFilter,
  error: unknown,
  req: IncomingMessage,
  requestId: string,
): { status: number; headers: Record<string, string>; body: unknown } | undefined {
  let answer: { status: number; headers: Record<string, string>; body: unknown } | undefined;
  const headers: Record<string, string> = {};
  let status = 500;
  const reply = {
    sent: false,
    headers(values: Record<string, string>) {
      setHeaders(headers, values);
      return reply;
    },
    status(code: number) {
      status = code;
      return reply;
    },
    send(body: unknown) {
      reply.sent = true;
      answer = { status, headers, body };
      return reply;
    },
  };
  const request = { id: requestId, method: req.method, url: req.url, raw: req };
  errors.catch(error, new ExecutionContextHost([request, reply]));
  return answer;
}

/**
 * Webhook deliveries (`/v1/hooks/:hookId`) answered before Fastify, as the cached reads of
 * workflows/hot-read.ts are: a listener put in front of the Node server's request listener
 * (Fastify's, or another edge's) takes a delivery it can read as Fastify would, reads its body
 * with the same size limit into the same RawBody (the JSON rules of common/json-body.ts), hands it
 * to the same HookDeliveries.deliver, and sends the answer with the headers, the request id, the
 * request log line, the HTTP metrics and the delivery's outcome that Fastify's path gives; its
 * refusals are worded by the app's own exception filter. What it saves is Fastify's routing, its
 * request and reply objects, its hooks and its body parser (with an AsyncResource bound per
 * request): about a quarter of a delivery's CPU on the main thread (with bench/triggers/webhook.js's
 * deliveries at a steady 600 a second, some 460 µs → 350 µs).
 *
 * It leaves to Fastify, untouched, anything it cannot answer identically: another path or method
 * (HEAD, OPTIONS, a query string), a body Fastify would refuse before the route (a Content-Length
 * past the limit, a Content-Type it cannot parse) or that it reads differently (chunked, a GET's),
 * every delivery once the app is closing (Fastify answers 503), and all of them behind proxies
 * (`trustProxy`: the client IP, whose failures are counted, is Fastify's to work out).
 * test/e2e/delivery-route.e2e-spec.ts compares its answers, log lines and metrics with Nest's.
 *
 * Call before the app's routes are registered (before `app.init()`).
 */
export function answerDeliveriesAtTheEdge(fastify: FastifyInstance, options: DeliveryEdgeOptions): void {
  if (options.trustProxy !== false) return;
  const parseJson = jsonTextParser(fastify);
  /** The methods of the hook route, as registered (none: the app has no webhooks, and the edge takes nothing). */
  const methods = new Set<string>();
  /** Static routes beside `:hookId`, which Fastify would route there instead: left to Fastify. */
  const staticNames = new Set<string>();
  let providers: ReturnType<DeliveryEdgeOptions['providers']> | undefined;
  fastify.addHook('onRoute', (route) => {
    const beside = HOOK_PATH.exec(route.url ?? '');
    if (beside !== null) staticNames.add(beside[1]);
    if (route.url !== HOOK_ROUTE) return;
    providers ??= options.providers();
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) if (TAKEN_METHODS.has(method)) methods.add(method);
  });
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  const server = fastify.server;
  const [next] = server.listeners('request') as RequestListener[];

  /** The hook id of a delivery the edge takes, else undefined. */
  const taken = (req: IncomingMessage): string | undefined => {
    const method = req.method!;
    if (closing || !methods.has(method)) return undefined;
    // The path first: most requests are not deliveries (a cached read's GET goes no further).
    const path = HOOK_PATH.exec(req.url!);
    if (path === null) return undefined;
    const { 'content-length': length, 'transfer-encoding': encoding, 'content-type': type } = req.headers;
    if (encoding !== undefined) return undefined;
    if (
      BODY_METHODS.has(method) ? Number(length ?? 0) > options.bodyLimitBytes || (type !== undefined && !PLAIN_CONTENT_TYPE.test(type)) : length !== undefined
    ) {
      return undefined;
    }
    return staticNames.has(path[1]) ? undefined : path[1];
  };

  /** Sends `answer`, then, once sent (when Fastify's `onResponse` hooks would run), the log line, the metrics and the outcome. */
  const send = (req: IncomingMessage, res: ServerResponse, answer: EdgeAnswer, requestId: string, startedAt: number) => {
    answer.headers['content-type'] = JSON_CONTENT_TYPE;
    answer.headers['content-length'] = String(Buffer.byteLength(answer.json));
    const sent = () => {
      res.removeListener('finish', sent);
      res.removeListener('error', sent);
      const elapsedMs = performance.now() - startedAt;
      const { status } = answer;
      options.writeLine(requestLineLevel(status), {
        requestId,
        method: req.method!,
        url: req.url!,
        statusCode: status,
        durationMs: Math.round(elapsedMs * 100) / 100,
      });
      options.recordRequest(req.method!, HOOK_ROUTE, status, elapsedMs / 1000, { headers: answer.headers, body: answer.json });
      providers!.events.delivered(answer.outcome);
    };
    res.on('finish', sent);
    res.on('error', sent);
    res.writeHead(answer.status, answer.headers);
    res.end(answer.json);
  };

  const answer = (req: IncomingMessage, res: ServerResponse, hookId: string, requestId: string, startedAt: number, body: RawBody | undefined) => {
    const headers: Record<string, string> = { [REQUEST_ID_HEADER]: requestId };
    const delivery: Delivery = {
      method: req.method!,
      url: req.url!,
      headers: req.headers,
      query: {},
      // Fastify's `request.ip` without proxies; undefined once the socket is gone, counted as 'unknown' as Fastify's is.
      ip: req.socket.remoteAddress as string,
      body,
    };
    const sink: HeaderSink = {
      header: (name: string, value: string) => {
        headers[name.toLowerCase()] = value;
      },
    };
    providers!.deliveries
      .deliver(hookId, delivery, sink)
      .then(
        (delivered: DeliveryAnswer) => {
          setHeaders(headers, delivered.headers);
          send(req, res, { status: delivered.status, headers, json: delivered.json, outcome: delivered.outcome }, requestId, startedAt);
        },
        (error: unknown) => refuse(req, res, error, headers, requestId, startedAt),
      )
      .catch((error: unknown) => failed(res, error));
  };

  /** A refusal, worded by the exception filter, after the headers already set (the request id's, the rate limit's). */
  const refuse = (req: IncomingMessage, res: ServerResponse, error: unknown, headers: Record<string, string>, requestId: string, startedAt: number) => {
    const refusal = refusalOf(options.errors, error, req, requestId);
    if (refusal === undefined) return;
    setHeaders(headers, refusal.headers);
    send(
      req,
      res,
      { status: refusal.status, headers, json: JSON.stringify(refusal.body), outcome: deliveryOutcome(refusal.status, undefined) },
      requestId,
      startedAt,
    );
  };

  /** Not expected (the filter answers anything thrown): the connection is dropped rather than left hanging. */
  const failed = (res: ServerResponse, error: unknown) => {
    res.destroy(error instanceof Error ? error : undefined);
  };

  /** The body read as Fastify's parser reads it (into one Buffer, the Content-Length already checked against the limit), then the delivery. */
  const readThenAnswer = (req: IncomingMessage, res: ServerResponse, hookId: string, requestId: string, startedAt: number) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: Buffer) => chunks.push(chunk);
    const onEnd = (error?: Error) => {
      req.removeListener('data', onData);
      req.removeListener('end', onEnd);
      req.removeListener('error', onEnd);
      if (error !== undefined) {
        // As Fastify's parser: a failed read closes the connection (the client may send more).
        return refuse(req, res, error, { [REQUEST_ID_HEADER]: requestId, connection: 'close' }, requestId, startedAt);
      }
      const contentEncoding = req.headers['content-encoding'];
      answer(req, res, hookId, requestId, startedAt, new RawBody(Buffer.concat(chunks), contentEncoding, options.bodyLimitBytes, parseJson));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onEnd);
  };

  server.removeListener('request', next);
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const hookId = taken(req);
    if (hookId === undefined) return next.call(server, req, res);
    const startedAt = performance.now();
    const requestId = generateRequestId(req);
    try {
      const length = req.headers['content-length'];
      if (length === undefined || length === '0') answer(req, res, hookId, requestId, startedAt, undefined);
      else readThenAnswer(req, res, hookId, requestId, startedAt);
    } catch (error) {
      failed(res, error);
    }
  });
}
