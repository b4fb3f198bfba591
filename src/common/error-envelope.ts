import { HttpException, HttpStatus } from '@nestjs/common';
import { DomainError, ErrorCode, ErrorDetails } from './errors';

export interface ErrorEnvelope {
  error: { code: string; message: string; details?: ErrorDetails; requestId: string };
}

export interface ErrorResponse {
  status: number;
  body: ErrorEnvelope;
  headers: Record<string, string>;
}

const STATUS_CODES: Record<number, ErrorCode> = {
  400: ErrorCode.VALIDATION_ERROR,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  409: ErrorCode.CONFLICT,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  503: ErrorCode.NOT_READY,
};

function fromHttpException(exception: HttpException): { status: number; code: ErrorCode; message: string } {
  const status = exception.getStatus();
  const response = exception.getResponse();
  const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
  const message = Array.isArray(raw) ? raw.join('; ') : typeof raw === 'string' ? raw : exception.message;
  if (status >= 500) return { status: 500, code: ErrorCode.INTERNAL_ERROR, message: 'Internal server error' };
  return { status, code: STATUS_CODES[status] ?? ErrorCode.VALIDATION_ERROR, message };
}

/** Fastify's own errors (`FST_ERR_…`) carry the 4xx status they mean; the code is ours. */
function fromFastifyClientError(error: unknown): { status: number; code: ErrorCode; message: string } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, statusCode } = error as Error & { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return undefined;
  return { status: statusCode, code: statusCode === 400 ? ErrorCode.BAD_REQUEST : (STATUS_CODES[statusCode] ?? ErrorCode.BAD_REQUEST), message: error.message };
}

/**
 * The single mapping from anything thrown to the error envelope of api.md. Unknown errors become
 * a 500 whose message says nothing internal; `isInternal` tells the caller to log the stack.
 */
export function toErrorResponse(error: unknown, requestId: string): ErrorResponse & { isInternal: boolean } {
  let status: number;
  let code: string;
  let message: string;
  let details: ErrorDetails | undefined;
  let headers: Record<string, string> = {};
  if (error instanceof DomainError) {
    ({ status, code, message, details, headers } = error);
  } else if (error instanceof HttpException) {
    ({ status, code, message } = fromHttpException(error));
  } else {
    ({ status, code, message } = fromFastifyClientError(error) ?? {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      code: ErrorCode.INTERNAL_ERROR,
      message: `Internal server error; quote request id ${requestId} when reporting it`,
    });
  }
  const body: ErrorEnvelope = { error: { code, message, ...(details ? { details } : {}), requestId } };
  return { status, body, headers, isInternal: status >= 500 && !(error instanceof DomainError) };
}
