import type { components } from '../schema';

type Schemas = components['schemas'];

/** The server's error envelope: `{ error: { code, message, details?, requestId } }`. */
export type ErrorEnvelope = Schemas['ErrorEnvelopeDto'];
/** A code the server answers with (`WORKFLOW_NOT_FOUND`, `RATE_LIMITED`…). */
export type ErrorCode = Schemas['ErrorBodyDto']['code'];
/** One problem of a workflow graph, as `InvalidWorkflowError` lists them. */
export type GraphProblem = Schemas['GraphProblemDto'];

/** Codes of the errors raised on this side, when no answer (or no usable answer) came from the server. */
export type ClientErrorCode = 'CONNECTION_ERROR' | 'TIMEOUT';

/**
 * Every error this SDK throws. An answer of the server carries its `code`, `message`, `status`,
 * `details` and `requestId` (quote it when you report a problem: the server's log has it). The
 * subclasses tell the families apart:
 *
 * ```ts
 * try {
 *   await tensorify.workflows.get('wf_missing');
 * } catch (error) {
 *   if (error instanceof NotFoundError) console.log(error.code, error.requestId); // WORKFLOW_NOT_FOUND req_…
 *   else throw error;
 * }
 * ```
 */
export class TensorifyError extends Error {
  /** The server's code (`ErrorCode`), or `CONNECTION_ERROR` / `TIMEOUT` when no answer came. */
  readonly code: ErrorCode | ClientErrorCode;
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  /** Structured data of the error (per-field or per-node problems), when the server gave some. */
  readonly details: Record<string, unknown> | undefined;
  /** The request's id (`X-Request-Id`), when the server answered. */
  readonly requestId: string | undefined;

  constructor(
    message: string,
    fields: { code: ErrorCode | ClientErrorCode; status?: number; details?: Record<string, unknown>; requestId?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.code = fields.code;
    this.status = fields.status;
    this.details = fields.details;
    this.requestId = fields.requestId;
  }
}

/** An error answer of the server (a status of 400 or more). */
export class APIError extends TensorifyError {
  declare readonly code: ErrorCode;
  declare readonly status: number;
  /** The response's headers (`Retry-After`, the rate-limit headers…). */
  readonly headers: Headers;
  /** The body as it came: the error envelope, or whatever else answered (a proxy's page…). */
  readonly body: unknown;

  constructor(response: Response, body: unknown) {
    const envelope = isErrorEnvelope(body) ? body.error : undefined;
    super(envelope?.message ?? `${response.status} ${response.statusText || 'error'}`, {
      code: envelope?.code ?? codeOfStatus(response.status),
      status: response.status,
      details: envelope?.details,
      requestId: envelope?.requestId ?? response.headers.get('x-request-id') ?? undefined,
    });
    this.headers = response.headers;
    this.body = body;
  }
}

/** 400 and the other refusals of the request as it was (`VALIDATION_ERROR`, `INVALID_JSON`, `GPU_UNAVAILABLE`, 413, 415…). */
export class BadRequestError extends APIError {}

/** 400 `INVALID_WORKFLOW`: every problem of the graph, by node (`nodes`) and for the whole graph (`graph`). */
export class InvalidWorkflowError extends BadRequestError {
  /** Problems keyed by node id. */
  readonly nodes: Record<string, GraphProblem[]>;
  /** Problems of the graph as a whole (not exactly one trigger…). */
  readonly graph: GraphProblem[];

  constructor(response: Response, body: unknown) {
    super(response, body);
    const details = (this.details ?? {}) as { nodes?: Record<string, GraphProblem[]>; graph?: GraphProblem[] };
    this.nodes = details.nodes ?? {};
    this.graph = details.graph ?? [];
  }
}

/** 401 `UNAUTHORIZED`: no API key, or one that is malformed, unknown, revoked or expired. */
export class AuthenticationError extends APIError {}

/** 403 `FORBIDDEN`: the key lacks the scope the operation needs. */
export class PermissionDeniedError extends APIError {}

/** 404: no such object in the key's workspace (`WORKFLOW_NOT_FOUND`, `EXECUTION_NOT_FOUND`…), or no such route. */
export class NotFoundError extends APIError {}

/** 409 `CONFLICT`: a stale `ifMatch` version, an execution already finished, an idempotency key reused with another body. */
export class ConflictError extends APIError {}

/** 429 `RATE_LIMITED`, once the retries are spent. */
export class RateLimitError extends APIError {
  /** Seconds the server asked to wait (`Retry-After`), when it said. */
  readonly retryAfter: number | undefined;

  constructor(response: Response, body: unknown) {
    super(response, body);
    this.retryAfter = retryAfterSeconds(response.headers);
  }
}

/** A 5xx answer: `INTERNAL_ERROR` (the server's log has the details under `requestId`). */
export class InternalServerError extends APIError {}

/** 503 (`NOT_READY`, `EXECUTOR_UNAVAILABLE`, the database down), once the retries are spent. */
export class ServiceUnavailableError extends InternalServerError {
  /** Seconds the server asked to wait (`Retry-After`), when it said. */
  readonly retryAfter: number | undefined;

  constructor(response: Response, body: unknown) {
    super(response, body);
    this.retryAfter = retryAfterSeconds(response.headers);
  }
}

/** No answer: the connection was refused, reset or dropped before the response was complete. */
export class APIConnectionError extends TensorifyError {
  constructor(message: string, options?: { cause?: unknown }, code: ClientErrorCode = 'CONNECTION_ERROR') {
    super(message, { code }, options);
  }
}

/** No answer within the request's `timeoutMs`. */
export class APITimeoutError extends APIConnectionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, 'TIMEOUT');
  }
}

/** `executions.wait` gave up: the execution had not finished within `timeoutMs`. */
export class WaitTimeoutError<Execution = unknown> extends APITimeoutError {
  constructor(
    message: string,
    /** The execution as last seen. */
    readonly execution: Execution,
  ) {
    super(message);
  }
}

/** The error for an error answer, by status (and by code for `INVALID_WORKFLOW`). */
export function errorFromResponse(response: Response, body: unknown): APIError {
  const status = response.status;
  if (status === 400 && isErrorEnvelope(body) && body.error.code === 'INVALID_WORKFLOW') return new InvalidWorkflowError(response, body);
  if (status === 401) return new AuthenticationError(response, body);
  if (status === 403) return new PermissionDeniedError(response, body);
  if (status === 404) return new NotFoundError(response, body);
  if (status === 409) return new ConflictError(response, body);
  if (status === 429) return new RateLimitError(response, body);
  if (status === 503) return new ServiceUnavailableError(response, body);
  if (status >= 500) return new InternalServerError(response, body);
  return new BadRequestError(response, body);
}

/** Whether a value has the shape of the server's error envelope. */
export function isErrorEnvelope(body: unknown): body is ErrorEnvelope {
  if (typeof body !== 'object' || body === null || !('error' in body)) return false;
  const error = body.error;
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { code?: unknown }).code === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

/** `Retry-After` in seconds: a number of seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterSeconds(headers: Headers): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

/** The code of an answer that is not the envelope (a proxy's page), by its status. */
function codeOfStatus(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 409) return 'CONFLICT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 503) return 'NOT_READY';
  return status >= 500 ? 'INTERNAL_ERROR' : 'BAD_REQUEST';
}
