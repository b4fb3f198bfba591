import type { IncomingMessage, OutgoingHttpHeader, RequestListener, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import type { INestApplicationContext } from '@nestjs/common';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator';
import { authContextOf, type AuthContext } from '../auth/auth-context';
import { REQUIRED_SCOPE } from '../auth/auth.decorators';
import { type Admission, admit, admitNow, markAdmitted } from '../auth/request-authentication.hook';
import { hasScope, SCOPES, type Scope } from '../auth/scopes';
import { WorkspaceRateLimiter } from '../auth/workspace-rate.limiter';
import type { RequestLine } from '../common/logging';
import type { AppConfig } from '../config/config';
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../common/pagination';
import { generateRequestId, REQUEST_ID_HEADER } from '../common/request-id';
import type { HeaderSink } from '../plans/rate-limit-headers';
import { JSON_CONTENT_TYPE, presentWorkflow, workflowRepresentation } from './workflows.controller';
import { WorkflowsService } from './workflows.service';

/** The most frequent reads of the API, by the URL of their Fastify route. */
const ONE_ROUTE = '/v1/workflows/:id';
const LIST_ROUTE = '/v1/workflows';

/** A path the edge may answer: an id (no dot, no percent-encoding) after ONE_PREFIX, or the list with at most a query it fully understands. */
const ONE_PREFIX = '/v1/workflows/';
const ONE_PATH = /^\/v1\/workflows\/[A-Za-z0-9_-]{1,64}$/;
const LIST_PATH = /^\/v1\/workflows(?:\?(.+))?$/;
const CANONICAL_LIMIT = /^[1-9][0-9]{0,2}$/;
const CURSOR = /^[A-Za-z0-9_-]{1,256}$/;
/** The query string of a read the edge answers: none it needs (one object for all, never written). */
const NO_QUERY = Object.freeze({});

/** A page of the list as the edge reads its query string. */
interface PageQuery {
  limit: number;
  cursor?: string;
}

/** What the edge needs of the app. */
interface CachedReadServices {
  workflows: WorkflowsService;
  authenticator: ApiKeyAuthenticator;
  rateLimiter: WorkspaceRateLimiter;
  /** The HTTP metrics of an answered request, as the app's metrics hook records them (given by the composition root: metrics depend on this module). */
  recordRequest: (method: string, route: string, status: number, seconds: number) => void;
  /** The request log line, as the app's `onResponse` hook writes it (requestLineWriter). */
  writeLine: (level: 'info', line: RequestLine) => void;
}

/**
 * `limit` and `cursor` of the list's query string as PageQueryDto reads them, when the query is
 * only those (once each), a canonical limit within bounds and a cursor of the characters this
 * server issues; undefined for anything else, which Fastify and Nest then parse and validate.
 */
function pageQueryOf(query: string | undefined): PageQuery | undefined {
  const page: { limit?: number; cursor?: string } = {};
  for (const pair of query === undefined ? [] : query.split('&')) {
    const [name, value, extra] = pair.split('=');
    if (extra !== undefined || value === undefined) return undefined;
    if (name === 'limit' && page.limit === undefined && CANONICAL_LIMIT.test(value) && Number(value) <= MAX_PAGE_SIZE) page.limit = Number(value);
    else if (name === 'cursor' && page.cursor === undefined && CURSOR.test(value)) page.cursor = value;
    else return undefined;
  }
  return { limit: page.limit ?? DEFAULT_PAGE_SIZE, cursor: page.cursor };
}

/**
 * The cached reads of the workflows, answered in two layers, each only with the plain 200 that
 * the controller would give. Anything else (a cache miss, a missing or wrong key, a missing
 * scope, the rate limit reached, another workspace's or an unknown id) is answered by Nest's
 * handler through the guard, the controller and the exception filter, unchanged.
 *
 * 1. At the edge, before Fastify: a listener put in front of Fastify's on the Node server
 *    recognises GET/HEAD /v1/workflows/:id and /v1/workflows (list pages whose query it fully
 *    understands; no body), admits the request with the same `admit` as the route's hook
 *    (authentication, the per-IP failure limit, the workspace rate limit and its headers), checks
 *    the scope the controller method declares and answers from the caches (the workflow's JSON
 *    bytes and ETag, or the page's JSON bytes) with one `writeHead` and `end`, writing the request
 *    id, the request log line and the HTTP metrics as the app's hooks would. When it cannot
 *    answer after admitting, it hands the request to Fastify marked as admitted (markAdmitted),
 *    so that it is neither authenticated nor counted twice. Fastify's routing, request and reply
 *    objects and hooks are what the edge saves: with bench/api, about a seventh of the CPU of a
 *    cached GET of a workflow and a quarter of that of a page of 20; most of what remains is
 *    Node's HTTP, the socket write, the key's hash and the log line. Its own work allocates little
 *    (no closure or header object per request; the bodies are Buffers, sent without a copy into a
 *    string), as what it allocates is paid again in garbage collection. It is off when `trustProxy` is set
 *    (the client IP is then Fastify's to work out) and once the app is closing (Fastify answers 503).
 * 2. In Fastify: the route of GET/HEAD /v1/workflows/:id gets a handler in front of Nest's that
 *    answers a cached workflow (skipping Nest's guard chain, parameter pipes and response
 *    controller), for what the edge leaves to Fastify.
 *
 * The bodies and headers come from the controller's own workflowRepresentation and the
 * service's cache of pages. test/e2e/hot-read.e2e-spec.ts compares both paths with Nest's,
 * byte for byte, with their log lines and metrics.
 *
 * Call before the app's routes are registered (before `app.init()`), once the app's providers exist.
 */
export function answerCachedWorkflowReads(
  fastify: FastifyInstance,
  app: INestApplicationContext,
  { writeLine, recordRequest, trustProxy }: Pick<CachedReadServices, 'writeLine' | 'recordRequest'> & Pick<AppConfig, 'trustProxy'>,
): void {
  const services: CachedReadServices = {
    workflows: app.get(WorkflowsService),
    authenticator: app.get(ApiKeyAuthenticator),
    rateLimiter: app.get(WorkspaceRateLimiter),
    recordRequest,
    writeLine,
  };
  /** The scope each answered route's controller method declares, as the routes are registered. */
  const scopes = new Map<string, Scope>();
  /** Static routes beside `:id` (a GET /v1/workflows/<name>), which Fastify would route there instead: left to Fastify. */
  const staticNames = new Set<string>();
  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const url = route.url ?? '';
    if (ONE_PATH.test(url) && methods.some((method) => method === 'GET' || method === 'HEAD')) staticNames.add(url.slice(ONE_PREFIX.length));
    if ((route.url !== ONE_ROUTE && route.url !== LIST_ROUTE) || !methods.every((method) => method === 'GET' || method === 'HEAD')) return;
    // The scope the controller method declares (Nest copies its metadata onto the handler it registers).
    const scope: unknown = Reflect.getMetadata(REQUIRED_SCOPE, route.handler);
    if (!SCOPES.includes(scope as Scope)) return; // not the route this was written for: leave it to Nest
    scopes.set(route.url, scope as Scope);
    if (route.url === ONE_ROUTE) route.handler = cachedReadInFastify(route.handler, scope as Scope, services.workflows);
  });
  // The client IP of a request behind proxies is Fastify's to work out: no edge then.
  if (trustProxy === false) putEdgeInFront(fastify, services, scopes, staticNames);
}

function cachedReadInFastify(nest: RouteHandlerMethod, required: Scope, service: WorkflowsService): RouteHandlerMethod {
  return function (request, reply) {
    const auth = authContextOf(request);
    const workflow = auth && hasScope(auth.apiKey.scopes, required) ? service.cached(auth.workspace.id, (request.params as { id: string }).id) : undefined;
    if (workflow === undefined) return nest.call(this, request, reply);
    return presentWorkflow(workflow, reply);
  };
}

/**
 * The response headers of a read the edge answers, as one flat list (as `writeHead` takes them)
 * in the order Fastify writes them: the request id (set when answering), then the rate limit's, as
 * admitting sets them (a HeaderSink), then the route's and the length.
 */
class EdgeHeaders implements HeaderSink {
  readonly list: OutgoingHttpHeader[] = [REQUEST_ID_HEADER, ''];

  header(name: string, value: string): void {
    this.list.push(name, value);
  }

  /** What admitting set, for Fastify's reply when the edge hands the request over (undefined: nothing). */
  admitted(): Record<string, string> | undefined {
    if (this.list.length === 2) return undefined;
    const headers: Record<string, string> = {};
    for (let i = 2; i < this.list.length; i += 2) headers[this.list[i] as string] = this.list[i + 1] as string;
    return headers;
  }
}

/** Node's own step of `writeHead`: the head composed from the status line and headers (ServerResponse's, absent from its types). */
interface HeadStore {
  _storeHeader?: (firstLine: string, headers: OutgoingHttpHeader[]) => void;
  _expect_continue?: boolean;
}

const OK_STATUS_LINE = 'HTTP/1.1 200 OK\r\n';

/**
 * `res.writeHead(200, [...headers, 'content-length', contentLength])`, the same bytes, without
 * Node's checks of each header: writeHead tests every name and value with a regular expression
 * each and lower-cases every name to find the few it acts on, about a microsecond of a cached
 * read's CPU for its nine headers. These are known to be valid and inert (constant names, none
 * that Node acts on; numbers, the ETag, and a request id of the characters generateRequestId
 * allows), so their lines are written here as Node writes them, and only content-length, which
 * Node reads, goes through its `_storeHeader`, which writeHead ends with (after setting the status
 * it is given and, for a client that expects a 100 Continue it was not sent, closing the
 * connection: that case is left to writeHead, as is a Node without `_storeHeader`).
 */
function writeHeadOk(res: ServerResponse, headers: OutgoingHttpHeader[], contentLength: number): void {
  const store = res as ServerResponse & HeadStore;
  if (typeof store._storeHeader !== 'function' || store._expect_continue === true || res.statusMessage) {
    headers.push('content-length', contentLength);
    res.writeHead(200, headers);
    return;
  }
  let head = OK_STATUS_LINE;
  for (let i = 0; i < headers.length; i += 2) head += `${headers[i] as string}: ${headers[i + 1] as string}\r\n`;
  res.statusCode = 200;
  res.statusMessage = 'OK';
  store._storeHeader(head, ['content-length', contentLength]);
}

/** A read the edge recognised: a workflow by id, or a page of the list. */
type EdgeRead = { route: typeof ONE_ROUTE; scope: Scope; id: string } | { route: typeof LIST_ROUTE; scope: Scope; page: PageQuery };

function putEdgeInFront(fastify: FastifyInstance, services: CachedReadServices, scopes: Map<string, Scope>, staticNames: Set<string>): void {
  const { workflows, authenticator, rateLimiter, recordRequest, writeLine } = services;
  const server = fastify.server;
  // Fastify's own request listener, the one it gave the server it created.
  const [toFastify] = server.listeners('request') as RequestListener[];
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  const recognise = (url: string): EdgeRead | undefined => {
    if (ONE_PATH.test(url)) {
      const id = url.slice(ONE_PREFIX.length);
      const scope = scopes.get(ONE_ROUTE);
      return scope === undefined || staticNames.has(id) ? undefined : { route: ONE_ROUTE, scope, id };
    }
    const list = LIST_PATH.exec(url);
    const page = list === null ? undefined : pageQueryOf(list[1]);
    const scope = scopes.get(LIST_ROUTE);
    return page === undefined || scope === undefined ? undefined : { route: LIST_ROUTE, scope, page };
  };

  /** The cached answer of a read for the workspace: the JSON bytes, and the ETag of a workflow. */
  const cachedAnswer = (read: EdgeRead, workspaceId: string): { body: Buffer; etag?: string } | undefined => {
    if (read.route === LIST_ROUTE) {
      const body = workflows.cachedPage(workspaceId, read.page.limit, read.page.cursor);
      return body && { body };
    }
    const workflow = workflows.cached(workspaceId, read.id);
    return workflow && workflowRepresentation(workflow);
  };

  const handOver = (req: IncomingMessage, res: ServerResponse, admission: Admission) => {
    markAdmitted(req, admission);
    toFastify.call(server, req, res);
  };

  /** The 200 of a found read, admitted: one writeHead with the headers as a flat list, then the log line and the metrics. */
  const respond = (req: IncomingMessage, res: ServerResponse, read: EdgeRead, auth: AuthContext, headers: EdgeHeaders, startedAt: number) => {
    const found = hasScope(auth.apiKey.scopes, read.scope) ? cachedAnswer(read, auth.workspace.id) : undefined;
    if (found === undefined || closing) return handOver(req, res, { auth, headers: headers.admitted() });

    const requestId = generateRequestId(req);
    const list = headers.list;
    list[1] = requestId;
    if (found.etag !== undefined) list.push('etag', found.etag);
    list.push('content-type', JSON_CONTENT_TYPE);
    writeHeadOk(res, list, found.body.length);
    res.end(req.method === 'HEAD' ? undefined : found.body);
    const elapsedMs = performance.now() - startedAt;
    writeLine('info', {
      requestId,
      method: req.method!,
      url: req.url!,
      statusCode: 200,
      durationMs: Math.round(elapsedMs * 100) / 100,
      workspaceId: auth.workspace.id,
      apiKeyId: auth.apiKey.id,
    });
    recordRequest(req.method!, read.route, 200, elapsedMs / 1000);
  };

  /** Not expected: Fastify answers it (a 500 in the envelope) if nothing was sent yet. */
  const failed = (req: IncomingMessage, res: ServerResponse, error: unknown) => {
    if (!res.headersSent) handOver(req, res, { refusal: error });
    else res.destroy();
  };

  const answer = (req: IncomingMessage, res: ServerResponse, read: EdgeRead) => {
    const startedAt = performance.now();
    // `user` is there from the start: authentication sets it (no new property on every request).
    const credentials = { ip: req.socket.remoteAddress ?? '', headers: req.headers, query: NO_QUERY, user: undefined as AuthContext | undefined };
    const headers = new EdgeHeaders();
    // At once when the key is cached and the counters are in memory (no promise per step); else through `admit`.
    let auth: AuthContext | undefined;
    try {
      auth = admitNow(authenticator, rateLimiter, credentials, headers);
    } catch (refusal) {
      return handOver(req, res, { auth: authContextOf(credentials), headers: headers.admitted(), refusal });
    }
    if (auth !== undefined) return respond(req, res, read, auth, headers, startedAt);
    admit(authenticator, rateLimiter, credentials, headers)
      .then(
        (admitted) => respond(req, res, read, admitted, headers, startedAt),
        (refusal: unknown) => handOver(req, res, { auth: authContextOf(credentials), headers: headers.admitted(), refusal }),
      )
      .catch((error: unknown) => failed(req, res, error));
  };

  server.removeListener('request', toFastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const bodiless = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
    const read = !closing && bodiless && (req.method === 'GET' || req.method === 'HEAD') ? recognise(req.url ?? '') : undefined;
    if (read === undefined) return toFastify.call(server, req, res);
    try {
      answer(req, res, read);
    } catch (error) {
      failed(req, res, error);
    }
  });
}
