import { WaitTimeoutError } from '../errors';
import { LogStream, type LogsOptions } from '../logs';
import { Paginator } from '../pagination';
import { sleep, type RequestOptions, type Transport } from '../transport';
import type { ExecuteResponse, Execution, ExecutionCallbacks, ExecutionFiles, ExecutionListParams, ExecutionStatus, ExecutionSummary } from './types';

/** Statuses an execution does not leave. */
export const FINISHED_STATUSES: readonly ExecutionStatus[] = ['completed', 'failed', 'cancelled', 'timed_out'];

export interface WaitOptions extends RequestOptions {
  /** Give up with WaitTimeoutError after this long; by default wait as long as the run takes. */
  timeoutMs?: number;
  /** The first pause between polls (default 250 ms); each next one is 1.5 times longer, up to `maxIntervalMs`. */
  intervalMs?: number;
  /** The longest pause between polls; default 2 s. */
  maxIntervalMs?: number;
}

/** `/v1/executions`: runs, their logs and files. */
export class Executions {
  constructor(private readonly transport: Transport) {}

  /** The workspace's executions, newest first, following `nextCursor`; filter by `workflowId`, `status` and `trigger` (`api`, `webhook`, `schedule`). */
  list(params: ExecutionListParams = {}, options?: RequestOptions): Paginator<ExecutionSummary> {
    return new Paginator(async (cursor) => {
      const { data } = await this.transport.send(
        (init) => this.transport.raw.GET('/v1/executions', { ...init, params: { query: { ...params, cursor: cursor ?? params.cursor } } }),
        { retryConnectionErrors: true },
        options,
      );
      return { items: data.executions, nextCursor: data.nextCursor };
    });
  }

  /** One execution: status, logs, output, error, exit code. */
  async get(id: string, options?: RequestOptions): Promise<Execution> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.GET('/v1/executions/{id}', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }

  /**
   * Asks the server to cancel a run. It becomes `cancelled` once its process is confirmed gone
   * (`wait` for it); a run already finished throws ConflictError.
   */
  async cancel(id: string, options?: RequestOptions): Promise<Execution> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/executions/{id}/cancel', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }

  /**
   * Queues a new execution of what a finished one ran (its files, inputs, executor and retry
   * policy); its `trigger` is `{type: 'rerun', executionId: id}`. A run not finished yet throws ConflictError.
   */
  async rerun(id: string, options?: RequestOptions): Promise<ExecuteResponse> {
    const { data } = await this.transport.send(
      // Not retried on a lost connection: a second request would queue a second run.
      (init) => this.transport.raw.POST('/v1/executions/{id}/rerun', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }

  /**
   * Deletes a finished execution now, with its logs and files (the server's retention job does so
   * on its own after the workspace's `retentionDays`); a queued or running one throws ConflictError.
   */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.send(
      (init) => this.transport.raw.DELETE('/v1/executions/{id}', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: false },
      options,
    );
  }

  /** The exact files that ran (the export of the workflow's version at the time). */
  async files(id: string, options?: RequestOptions): Promise<ExecutionFiles> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.GET('/v1/executions/{id}/files', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: true },
      options,
    );
    return data.files;
  }

  /** The completion callback to the run's `callbackUrl`: its delivery (`pending`, `delivered`, `failed`) and each attempt. */
  async callbacks(id: string, options?: RequestOptions): Promise<ExecutionCallbacks> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.GET('/v1/executions/{id}/callbacks', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }

  /**
   * Polls the execution, with backoff, until it has finished (completed, failed, cancelled or
   * timed out) and returns it. A failed run is returned, not thrown: look at `status` and `error`.
   */
  async wait(id: string, { timeoutMs, intervalMs = 250, maxIntervalMs = 2_000, ...options }: WaitOptions = {}): Promise<Execution> {
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    let pause = intervalMs;
    for (;;) {
      const execution = await this.get(id, options);
      if (FINISHED_STATUSES.includes(execution.status)) return execution;
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeoutError(`Execution ${id} is still ${execution.status} after ${timeoutMs} ms`, execution);
      await sleep(Math.min(pause, left), options.signal);
      pause = Math.min(maxIntervalMs, pause * 1.5);
    }
  }

  /**
   * The execution's log lines, live, as an async iterator (see LogStream): from the first line
   * (or after `after`) until the run ends, reconnecting with `Last-Event-ID` when the connection
   * drops, so no line is repeated or skipped.
   */
  logs(id: string, options: LogsOptions & Pick<RequestOptions, 'headers' | 'timeoutMs' | 'maxRetries'> = {}): LogStream {
    const { headers, timeoutMs, maxRetries, ...logOptions } = options;
    return new LogStream(async (lastEventId, signal) => {
      const { data } = await this.transport.send(
        (init) =>
          this.transport.raw.GET('/v1/executions/{id}/logs', {
            ...init,
            params: { path: { id }, header: lastEventId === undefined ? undefined : { 'Last-Event-ID': lastEventId } },
            parseAs: 'stream',
          }),
        { retryConnectionErrors: true },
        { signal, headers, timeoutMs, maxRetries },
      );
      if (!data) throw new TypeError('The log stream answered without a body');
      return data as ReadableStream<Uint8Array>;
    }, logOptions);
  }
}
