import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { toErrorResponse } from './error-envelope';
import { requestIdOf } from './request-id';

/** Writes an error as the api.md envelope; shared by the Nest filter and the Express error handler. */
export function sendError(error: unknown, req: Request, res: Response, logger: Logger): void {
  const requestId = requestIdOf(req);
  const { status, body, headers, isInternal } = toErrorResponse(error, requestId);
  if (isInternal) {
    logger.error({ err: error, requestId, method: req.method, url: req.originalUrl }, 'Unhandled error');
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(status).json(body);
}

@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger(AllExceptionsFilter.name);

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(exception, http.getRequest<Request>(), http.getResponse<Response>(), this.logger);
  }
}
