import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DestinationStream, Logger as PinoLogger } from 'pino';
import { AppModule, AppModuleOptions } from './app.module';
import { ApiKeyAuthenticator } from './auth/api-key.authenticator';
import { authContextOf } from './auth/auth-context';
import { authenticateBeforeTheBody } from './auth/request-authentication.hook';
import { WorkspaceRateLimiter } from './auth/workspace-rate.limiter';
import { AllExceptionsFilter } from './common/all-exceptions.filter';
import { clientErrorHandler, frameworkErrorHandler, refuseClimbingPaths } from './common/edge-refusals';
import { registerJsonBodyParser } from './common/json-body';
import { createRootLogger, PinoNestLogger, requestLineLevel, requestLineWriter } from './common/logging';
import { PACKAGE_VERSION } from './common/package-info';
import { methodLabel, rateLimiterOf } from './metrics/http-metrics';
import { MetricsService } from './metrics/metrics.service';
import { generateRequestId, REQUEST_ID_HEADER } from './common/request-id';
import { answerDeliveriesAtTheEdge } from './webhooks/delivery-edge';
import { serveDeliveriesDirectly } from './webhooks/delivery-route';
import { HookDeliveries } from './webhooks/hook-deliveries';
import { WebhookEvents } from './webhooks/webhook-events';
import { answerCachedWorkflowReads } from './workflows/hot-read';

export const DOCS_PATH = 'docs';

export function buildOpenApiDocument(app: NestFastifyApplication) {
  const document = new DocumentBuilder()
    .setTitle('Tensorify Server API')
    .setDescription(
      'Store AI/ML workflows, export them as clean Python, and run them on your own machines.\n\n' +
        'Every `/v1` route needs `Authorization: Bearer tfy_…`: click **Authorize** and paste a key. ' +
        'Errors always have the shape `{"error":{"code","message","details","requestId"}}`. ' +
        'Each response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `RateLimit-Policy` and `RateLimit`.',
    )
    .setVersion(PACKAGE_VERSION)
    .setLicense('MIT', 'https://opensource.org/licenses/MIT')
    .addServer('/', 'This server')
    .addTag('Workspaces', 'Workspaces: the unit of isolation, with a plan and its rate limit (admin keys)')
    .addTag('API keys', 'API keys, their scopes, and who the caller is')
    .addTag('Workflows', 'Workflows, their validation and export to Python, and the node catalogue')
    .addTag('Executions', 'Runs of a workflow: status, output, logs and the files that ran')
    .addTag('Webhooks', 'Hooks of webhook-triggered workflows, and their public delivery URL /v1/hooks/{hookId} (signed by the hook secret, no API key)')
    .addTag('Callbacks', "Signed completion callbacks to an execution's callbackUrl: their attempts, and the workspace signing secret")
    .addTag('Executors', 'The executor plugins that run workflows')
    .addTag('System', 'The server machine')
    .addTag('Health', 'Liveness, readiness and metrics, without an API key')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'tfy_ API key', description: 'An API key: tfy_ followed by 32+ letters and digits' })
    .build();
  return SwaggerModule.createDocument(app, document);
}

/**
 * One JSON log line per request, with its id, outcome, duration and (when known) workspace and
 * key, at info (warn for a 4xx, error for a 5xx). Written by `requestLineWriter` on the root
 * logger's destination rather than through a per-request child logger, which Fastify would
 * otherwise create for every request.
 */
function logRequests(fastify: FastifyInstance, logger: PinoLogger): void {
  const write = requestLineWriter(logger);
  fastify.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const auth = authContextOf(request);
    write(requestLineLevel(status), {
      requestId: request.id,
      method: request.method,
      url: request.url,
      statusCode: status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      workspaceId: auth?.workspace.id,
      apiKeyId: auth?.apiKey.id,
    });
    done();
  });
}

/**
 * The HTTP metrics of a request answered before Fastify (the edges), with the labels of
 * installHttpMetrics; `sent`, the headers and body of a response that may be a 429, whose limiter
 * is counted as its `onSend` hook counts it.
 */
function recordHttpRequestOf(
  app: NestFastifyApplication,
): (method: string, route: string, status: number, seconds: number, sent?: { headers: Record<string, string>; body: string }) => void {
  const metrics = app.get(MetricsService, { strict: false });
  return (method, route, status, seconds, sent) => {
    if (status === 429 && sent !== undefined) {
      // rateLimiterOf reads the reply's headers only through getHeader.
      const limiter = rateLimiterOf({ getHeader: (name: string) => sent.headers[name] } as unknown as FastifyReply, sent.body);
      if (limiter !== null) metrics.recordRateLimitRejection(limiter);
    }
    metrics.recordHttpRequest(methodLabel(method), route, status, seconds);
  };
}

export interface HttpOptions {
  /** false: every GET /v1/workflows and /v1/workflows/:id goes through Nest, cached or not (tests compare the paths). Default true. */
  cachedWorkflowReads?: boolean;
  /** false: webhook deliveries go through Nest's handler rather than serveDeliveriesDirectly (tests compare both paths). Default true. */
  directHookDeliveries?: boolean;
  /** false: webhook deliveries are all read by Fastify, none by answerDeliveriesAtTheEdge (tests compare the paths). Default true. */
  deliveryEdge?: boolean;
  /** Where the app's log lines go instead of stdout (tests read them line by line, as written). */
  logDestination?: DestinationStream;
}

/**
 * Builds the configured HTTP application (not yet listening) on Fastify: request ids, JSON bodies
 * with their limits, proxy trust, JSON logs, Swagger UI at /docs. Errors of every layer, Fastify's
 * own included (Nest hands them to the global filter as HttpExceptions), leave as the envelope.
 * The server and the e2e tests both use it, so both run exactly the same stack.
 */
export async function createApp(options: AppModuleOptions & HttpOptions): Promise<NestFastifyApplication> {
  const { config } = options;
  const rootLogger = createRootLogger(config, options.logDestination);
  const adapter = new FastifyAdapter({
    requestIdHeader: false,
    genReqId: generateRequestId,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 2048 },
    frameworkErrors: frameworkErrorHandler,
    // No Nest middleware in this app: without this, middie's onRequest hook runs on every request
    // for nothing (some 2% of a cached GET). A module that adds middleware must remove it.
    skipMiddie: true,
    clientErrorHandler: clientErrorHandler(rootLogger),
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options), adapter, {
    logger: new PinoNestLogger(rootLogger),
    bodyParser: false,
    abortOnError: false,
  });

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  logRequests(fastify, rootLogger);
  refuseClimbingPaths(fastify);
  authenticateBeforeTheBody(fastify, app.get(ApiKeyAuthenticator), app.get(WorkspaceRateLimiter));
  registerJsonBodyParser(fastify, config.bodyLimitBytes);
  if (options.cachedWorkflowReads !== false)
    answerCachedWorkflowReads(fastify, app, {
      writeLine: requestLineWriter(rootLogger),
      recordRequest: recordHttpRequestOf(app),
      trustProxy: config.trustProxy,
    });
  const errors = new AllExceptionsFilter(config);
  if (options.directHookDeliveries !== false) serveDeliveriesDirectly(fastify, () => app.get(HookDeliveries), errors);
  // After the cached-read edge: in front of it (each hands on what it does not answer).
  if (options.deliveryEdge !== false)
    answerDeliveriesAtTheEdge(fastify, {
      providers: () => ({ deliveries: app.get(HookDeliveries), events: app.get(WebhookEvents) }),
      errors,
      writeLine: requestLineWriter(rootLogger),
      recordRequest: recordHttpRequestOf(app),
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
    });

  // A factory, not the document: Swagger builds it on the first request to /docs or /docs-json
  // and keeps it, instead of scanning every route before the server listens (some 300 ms of boot).
  SwaggerModule.setup(DOCS_PATH, app, () => buildOpenApiDocument(app), {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    customSiteTitle: 'Tensorify Server API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
  return app;
}

/** `init()` plus Fastify's `ready()`: after this, `app.getHttpServer()` serves requests (used by tests). */
export async function initApp(app: NestFastifyApplication): Promise<NestFastifyApplication> {
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}
