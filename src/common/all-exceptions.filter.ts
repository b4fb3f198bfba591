import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Inject, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { isDatabaseUnavailable } from './database-unavailable';
import { toErrorResponse } from './error-envelope';
import { DatabaseUnavailableError, PayloadTooLargeError, UnsupportedMediaTypeError } from './errors';
import { maskSecrets } from './logging';

/** Writes an error as the api.md envelope. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const requestId = String(request.id);
  const { status, body, headers, isInternal } = toErrorResponse(error, requestId);
  if (isInternal) {
    logger.error({ err: error, requestId, method: request.method, url: maskSecrets(request.url) }, 'Unhandled error');
  }
  if (reply.sent) return;
  reply.headers(headers).status(status).send(body);
}

/** The client hung up (mid-body, say): there is no one to answer, and nothing failed on this side. */
function clientWentAway(request: FastifyRequest): boolean {
  return request.raw.readableAborted || request.raw.socket?.destroyed === true;
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    if (clientWentAway(request)) {
      this.logger.debug({ requestId: request.id, err: exception }, 'client closed the connection');
      return;
    }
    let error = this.explainBodyRejection(exception);
    if (isDatabaseUnavailable(exception)) {
      this.logger.error({ err: exception, requestId: request.id }, 'Database unavailable');
      error = new DatabaseUnavailableError();
    }
    sendError(error, request, http.getResponse<FastifyReply>(), this.logger);
  }

  /** Fastify refuses oversized and non-JSON bodies before any route runs; say what to do about it. */
  private explainBodyRejection(exception: unknown): unknown {
    if (!(exception instanceof HttpException)) return exception;
    switch (exception.getStatus()) {
      case 413:
        return new PayloadTooLargeError(`Request body exceeds the limit of ${this.config.bodyLimitBytes} bytes (TENSORIFY_BODY_LIMIT)`);
      case 415:
        return new UnsupportedMediaTypeError('Request bodies must be JSON: send "Content-Type: application/json"');
      default:
        return exception;
    }
  }
}
