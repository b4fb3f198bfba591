import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-envelope';
import { maskSecrets } from './logging';

/** Writes an error as the api.md envelope; shared by the Nest filter and Fastify's error handler. */
export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply, logger: Logger): void {
  const requestId = String(request.id);
  const { status, body, headers, isInternal } = toErrorResponse(error, requestId);
  if (isInternal) {
    logger.error({ err: error, requestId, method: request.method, url: maskSecrets(request.url) }, 'Unhandled error');
  }
  if (reply.sent) return;
  reply.headers(headers).status(status).send(body);
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<FastifyRequest>(), http.getResponse<FastifyReply>(), this.logger);
  }
}
