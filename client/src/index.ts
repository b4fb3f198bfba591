/**
 * Typed client for the Tensorify Server API: openapi-fetch over the types that openapi-typescript
 * generates from the server's OpenAPI document (schema.d.ts, next to this file). Paths, parameters,
 * bodies and responses are checked by TypeScript:
 *
 *   const client = createTensorifyClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: 'tfy_…' });
 *   const { data, error } = await client.GET('/v1/workflows/{id}', { params: { path: { id } } });
 *
 * Each call resolves to `{ data, response }` on success or `{ error, response }` (the error envelope)
 * otherwise; `unwrap` turns the latter into a thrown TensorifyApiError.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, operations, paths } from './schema';

export type { components, operations, paths };

export type TensorifyClient = Client<paths>;
export type Schemas = components['schemas'];
export type WorkflowBody = Schemas['WorkflowBodyDto'];
export type Workflow = Schemas['WorkflowDto'];
export type Execution = Schemas['ExecutionDto'];
export type ExecutionStatus = Execution['status'];
export type ErrorEnvelope = Schemas['ErrorEnvelopeDto'];
export type ErrorCode = Schemas['ErrorBodyDto']['code'];

export interface TensorifyClientOptions extends Omit<ClientOptions, 'baseUrl' | 'headers'> {
  /** The server's root URL, e.g. `http://127.0.0.1:3000` (paths start with `/v1`). */
  baseUrl: string;
  /** A `tfy_…` API key, sent as `Authorization: Bearer …` with every request; not needed for /health and /docs-json. */
  apiKey?: string;
  /** Headers sent with every request (an `apiKey` takes precedence over an Authorization header here). */
  headers?: Record<string, string>;
}

/** An openapi-fetch client typed by the server's paths, authenticated with `apiKey`. */
export function createTensorifyClient({ baseUrl, apiKey, headers, ...options }: TensorifyClientOptions): TensorifyClient {
  return createClient<paths>({
    ...options,
    baseUrl,
    headers: { ...headers, ...(apiKey === undefined ? {} : { Authorization: `Bearer ${apiKey}` }) },
  });
}

/** A non-2xx answer. `code`, `details` and `requestId` come from the error envelope when there is one. */
export class TensorifyApiError extends Error {
  readonly status: number;
  readonly code?: ErrorCode;
  readonly details?: Record<string, unknown>;
  readonly requestId?: string;
  /** The response body: the error envelope, or whatever else answered (a proxy's page…). */
  readonly body: unknown;

  constructor(response: Response, body: unknown) {
    const envelope = isErrorEnvelope(body) ? body.error : undefined;
    super(envelope ? `${response.status} ${envelope.code}: ${envelope.message}` : `${response.status} ${response.statusText || 'error'}`);
    this.name = 'TensorifyApiError';
    this.status = response.status;
    this.code = envelope?.code;
    this.details = envelope?.details;
    this.requestId = envelope?.requestId ?? response.headers.get('x-request-id') ?? undefined;
    this.body = body;
  }
}

/** Whether a value has the shape of the server's error envelope: `{ error: { code, message, requestId } }`. */
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

/** The data of a successful call; throws TensorifyApiError for an error answer. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (!result.response.ok) throw new TensorifyApiError(result.response, result.error);
  return result.data as T;
}

/** Statuses an execution does not leave. */
export const FINISHED_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'cancelled', 'timed_out'];

export interface WaitOptions {
  /** Give up (TensorifyTimeoutError) after this long; default 60 s. */
  timeoutMs?: number;
  /** Time between polls; default 250 ms. A 429 waits for its Retry-After instead. */
  intervalMs?: number;
  signal?: AbortSignal;
}

export class TensorifyTimeoutError extends Error {
  constructor(
    message: string,
    /** The execution as last seen. */
    readonly execution: Execution,
  ) {
    super(message);
    this.name = 'TensorifyTimeoutError';
  }
}

/**
 * Polls `GET /v1/executions/{id}` until the execution has finished (completed, failed, cancelled
 * or timed out) and returns it. Errors other than 429 throw TensorifyApiError.
 */
export async function waitForExecution(
  client: TensorifyClient,
  id: string,
  { timeoutMs = 60_000, intervalMs = 250, signal }: WaitOptions = {},
): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  let last: Execution | undefined;
  for (;;) {
    const result = await client.GET('/v1/executions/{id}', { params: { path: { id } }, signal });
    let pause = intervalMs;
    if (result.response.status === 429) {
      const retryAfter = Number(result.response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) pause = retryAfter * 1000;
    } else {
      last = unwrap(result);
      if (FINISHED_STATUSES.includes(last.status)) return last;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      if (!last) throw new TensorifyApiError(result.response, result.error);
      throw new TensorifyTimeoutError(`Execution ${id} is still ${last.status} after ${timeoutMs} ms`, last);
    }
    await sleep(Math.min(pause, left), signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with the signal's own reason, as fetch does (an AbortError unless the caller chose another)
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the signal's own reason, as above
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
