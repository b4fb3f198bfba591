/**
 * Domain errors. Services throw these; they know nothing about HTTP. The one global filter
 * (`AllExceptionsFilter`) maps each to its status and to the error envelope of api.md.
 */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  VALIDATION_ERROR: 'VALIDATION_ERROR',
  INVALID_WORKFLOW: 'INVALID_WORKFLOW',
  INVALID_JSON: 'INVALID_JSON',
  GPU_UNAVAILABLE: 'GPU_UNAVAILABLE',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  WORKFLOW_NOT_FOUND: 'WORKFLOW_NOT_FOUND',
  EXECUTION_NOT_FOUND: 'EXECUTION_NOT_FOUND',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  WORKSPACE_NOT_FOUND: 'WORKSPACE_NOT_FOUND',
  /** The workflow exists, but its trigger is not a schedule. */
  SCHEDULE_NOT_FOUND: 'SCHEDULE_NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  RATE_LIMITED: 'RATE_LIMITED',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  INTERNAL_ERROR: 'INTERNAL_ERROR',
  EXECUTOR_UNAVAILABLE: 'EXECUTOR_UNAVAILABLE',
  EXECUTION_FAILED: 'EXECUTION_FAILED',
  NOT_READY: 'NOT_READY',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export type ErrorDetails = Record<string, unknown>;

export abstract class DomainError extends Error {
  abstract readonly status: number;
  /** Response headers that belong to this error (Retry-After, WWW-Authenticate…). */
  readonly headers: Record<string, string> = {};
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetails,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Per-field problems: `details.fields` maps a field path to its messages. */
export class ValidationError extends DomainError {
  readonly status = 400;
  constructor(message: string, fields?: Record<string, string[]>) {
    super(ErrorCode.VALIDATION_ERROR, message, fields ? { fields } : undefined);
  }
}

export class BadRequestError extends DomainError {
  readonly status = 400;
}

export class UnauthorizedError extends DomainError {
  readonly status = 401;
  override readonly headers = { 'WWW-Authenticate': 'Bearer realm="tensorify"' };
  constructor(message = 'A valid API key is required: send "Authorization: Bearer tfy_…"') {
    super(ErrorCode.UNAUTHORIZED, message);
  }
}

export class ForbiddenError extends DomainError {
  readonly status = 403;
  constructor(message: string, details?: ErrorDetails) {
    super(ErrorCode.FORBIDDEN, message, details);
  }
}

export class NotFoundError extends DomainError {
  readonly status = 404;
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

/** 405 with the `Allow` header: the resource exists, but not for this method. */
export class MethodNotAllowedError extends DomainError {
  readonly status = 405;
  override readonly headers: Record<string, string>;
  constructor(message: string, allowed: readonly string[]) {
    super(ErrorCode.METHOD_NOT_ALLOWED, message, { allowed: [...allowed] });
    this.headers = { Allow: allowed.join(', ') };
  }
}

export class ConflictError extends DomainError {
  readonly status = 409;
  constructor(message: string, details?: ErrorDetails) {
    super(ErrorCode.CONFLICT, message, details);
  }
}

export class PayloadTooLargeError extends DomainError {
  readonly status = 413;
  constructor(message: string) {
    super(ErrorCode.PAYLOAD_TOO_LARGE, message);
  }
}

export class UnsupportedMediaTypeError extends DomainError {
  readonly status = 415;
  constructor(message: string) {
    super(ErrorCode.UNSUPPORTED_MEDIA_TYPE, message);
  }
}

export class RequestTimeoutError extends DomainError {
  readonly status = 408;
  constructor(message: string) {
    super(ErrorCode.REQUEST_TIMEOUT, message);
  }
}

export class HeadersTooLargeError extends DomainError {
  readonly status = 431;
  constructor(message: string) {
    super(ErrorCode.HEADERS_TOO_LARGE, message);
  }
}

export class RateLimitedError extends DomainError {
  readonly status = 429;
  override readonly headers: Record<string, string>;
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    details?: ErrorDetails,
  ) {
    super(ErrorCode.RATE_LIMITED, message, details);
    this.headers = { 'Retry-After': String(retryAfterSeconds) };
  }
}

export class ServiceUnavailableError extends DomainError {
  readonly status = 503;
  constructor(code: ErrorCode, message: string, details?: ErrorDetails) {
    super(code, message, details);
  }
}

/** 502 `EXECUTION_FAILED`: a request that waits for an execution's output got a run that did not complete. */
export class ExecutionFailedError extends DomainError {
  readonly status = 502;
  constructor(message: string, details: ErrorDetails) {
    super(ErrorCode.EXECUTION_FAILED, message, details);
  }
}

/** 503 `NOT_READY` with `Retry-After`: the database cannot be reached or is locked right now. */
export class DatabaseUnavailableError extends ServiceUnavailableError {
  override readonly headers = { 'Retry-After': '5' };
  constructor() {
    super(ErrorCode.NOT_READY, 'The database is unavailable right now; retry in a few seconds');
  }
}
