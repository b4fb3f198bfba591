import { Logger as NestLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';
import { Logger } from 'nestjs-pino';
import { AppModule, AppModuleOptions } from './app.module';
import { sendError } from './common/all-exceptions.filter';
import { bodyParserErrorToDomain, jsonBodyMiddlewares } from './common/json-body';
import { PACKAGE_VERSION } from './common/package-info';
import { requestIdMiddleware } from './common/request-id';

export const DOCS_PATH = 'docs';

export function buildOpenApiDocument(app: NestExpressApplication) {
  const document = new DocumentBuilder()
    .setTitle('Tensorify Server API')
    .setDescription(
      'Store AI/ML workflows, export them as clean Python, and run them on your own machines.\n\n' +
        'Every `/v1` route needs `Authorization: Bearer tfy_…`: click **Authorize** and paste a key. ' +
        'Errors always have the shape `{"error":{"code","message","details","requestId"}}`. ' +
        'Each response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset`, `RateLimit-Policy` and `RateLimit`.',
    )
    .setVersion(PACKAGE_VERSION)
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'tfy_ API key', description: 'An API key: tfy_ followed by 32+ letters and digits' })
    .build();
  return SwaggerModule.createDocument(app, document);
}

/**
 * Builds the configured HTTP application (not yet listening): request ids, JSON bodies with
 * their limits and errors in the envelope, proxy trust, Swagger UI at /docs. Used by the server
 * and by the e2e tests, so both run exactly the same stack.
 */
export async function createApp(options: AppModuleOptions): Promise<NestExpressApplication> {
  const { config } = options;
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    bodyParser: false,
    bufferLogs: true,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);
  app.disable('x-powered-by');

  const errorLogger = new NestLogger('HttpBody');
  app.use(requestIdMiddleware);
  app.use(...jsonBodyMiddlewares(config.bodyLimitBytes));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) =>
    sendError(bodyParserErrorToDomain(error, config.bodyLimitBytes), req, res, errorLogger),
  );

  SwaggerModule.setup(DOCS_PATH, app, buildOpenApiDocument(app), {
    jsonDocumentUrl: `${DOCS_PATH}-json`,
    customSiteTitle: 'Tensorify Server API',
    swaggerOptions: { persistAuthorization: true, displayRequestDuration: true },
  });
  return app;
}
