import type { Client } from 'openapi-fetch';
import type { paths } from '../schema';
import { APIConnectionError, APIError, APITimeoutError, errorFromResponse, retryAfterSeconds } from './errors';

/** The openapi-fetch client typed by the server's paths: `raw.GET('/v1/workflows/{id}', …)`. */
export type TensorifyClient = Client<paths>;

/** Options every SDK call takes as its last argument. */
export interface RequestOptions {
  /** Aborts the call (and its retries and waits); the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Overrides the client's `timeoutMs` for this call. */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries` for this call. */
  maxRetries?: number;
  /** Headers sent with this call only. */
  headers?: Record<string, string>;
}

/** What an attempt of openapi-fetch resolves to. */
interface Attempt<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

export interface TransportOptions {
  maxRetries: number;
  timeoutMs: number;
  /** The longest `Retry-After` waited for; a longer one is thrown at once (RateLimitError, ServiceUnavailableError). */
  maxRetryAfterMs: number;
}

/** Statuses that say "not now": retried after their `Retry-After` (or a backoff), up to `maxRetries` times. */
const RETRIED_STATUSES = new Set([429, 503]);

/**
 * Runs a call of openapi-fetch with what every call needs: a timeout, retries of 429 and 503 that
 * honour `Retry-After`, and typed errors. A connection error (no answer) is retried only when
 * `retryConnectionErrors` says the request may run twice: a GET, or a request with an
 * Idempotency-Key (the server answers its replay without running anything again).
 */
export class Transport {
  constructor(
    readonly raw: TensorifyClient,
    readonly options: TransportOptions,
  ) {}

  /** Sends `call` until it succeeds or fails for good; resolves to the success's data and response. */
  async send<T>(
    call: (init: { signal: AbortSignal; headers?: Record<string, string> }) => Promise<Attempt<T>>,
    { retryConnectionErrors }: { retryConnectionErrors: boolean },
    request: RequestOptions = {},
  ): Promise<{ data: T; response: Response }> {
    const maxRetries = request.maxRetries ?? this.options.maxRetries;
    const timeoutMs = request.timeoutMs ?? this.options.timeoutMs;
    for (let attempt = 0; ; attempt++) {
      request.signal?.throwIfAborted();
      const timeout = new AbortController();
      const signal = request.signal ? AbortSignal.any([request.signal, timeout.signal]) : timeout.signal;
      const timer = setTimeout(() => timeout.abort(new APITimeoutError(`No answer within ${timeoutMs} ms`)), timeoutMs);
      let result: Attempt<T>;
      try {
        result = await call({ signal, headers: request.headers });
      } catch (cause) {
        clearTimeout(timer);
        if (request.signal?.aborted) throw request.signal.reason;
        const error = timeout.signal.aborted
          ? new APITimeoutError(`No answer within ${timeoutMs} ms`, { cause })
          : new APIConnectionError(`Connection error: ${describe(cause)}`, { cause });
        if (!retryConnectionErrors || attempt >= maxRetries) throw error;
        await sleep(backoffMs(attempt), request.signal);
        continue;
      }
      // A parsed body has been read by now; a stream's (parseAs: 'stream') is the caller's to read, under its own rules.
      clearTimeout(timer);
      if (result.response.ok) return { data: result.data as T, response: result.response };
      const error = errorFromResponse(result.response, result.error);
      const wait = this.retryWaitMs(error, attempt, maxRetries);
      if (wait === undefined) throw error;
      await sleep(wait, request.signal);
    }
  }

  /** How long to wait before retrying an error answer; undefined when it is not retried. */
  private retryWaitMs(error: APIError, attempt: number, maxRetries: number): number | undefined {
    if (!RETRIED_STATUSES.has(error.status) || attempt >= maxRetries) return undefined;
    const retryAfter = retryAfterSeconds(error.headers);
    if (retryAfter === undefined) return backoffMs(attempt);
    const ms = retryAfter * 1000;
    return ms > this.options.maxRetryAfterMs ? undefined : ms;
  }
}

/** Exponential backoff with jitter: about 0.5 s, 1 s, 2 s… up to 8 s. */
export function backoffMs(attempt: number): number {
  const base = Math.min(8_000, 500 * 2 ** attempt);
  return base * (0.75 + Math.random() * 0.25);
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with the signal's own reason, as fetch does
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

/** fetch's TypeError says "fetch failed"; the reason (ECONNREFUSED, a reset…) is its cause. */
function describe(error: unknown): string {
  // Duck-typed, not instanceof: fetch's errors may come from another realm (a vm context, a test runner's).
  if (typeof error !== 'object' || error === null || !('message' in error)) return String(error);
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  const reason = typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
  return `${String(error.message)}${reason === undefined ? '' : `: ${reason}`}`;
}
