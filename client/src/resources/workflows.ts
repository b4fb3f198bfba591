import { Paginator } from '../pagination';
import type { RequestOptions, Transport } from '../transport';
import type { ExecuteBody, ExecuteResponse, GeneratedFiles, ListParams, ValidationReport, Workflow, WorkflowBody, WorkflowSummary } from './types';

export interface ExecuteOptions extends ExecuteBody, RequestOptions {
  /**
   * The run's `Idempotency-Key`. By default a new random one per call, so the SDK's own retries
   * (and a retry of yours that passes the same key) never run the workflow twice.
   */
  idempotencyKey?: string;
}

/** `/v1/workflows`: store, read, validate, export and run workflows. */
export class Workflows {
  constructor(private readonly transport: Transport) {}

  /** The workspace's workflows, newest first, following `nextCursor` (see Paginator). */
  list(params: ListParams = {}, options?: RequestOptions): Paginator<WorkflowSummary> {
    return new Paginator(async (cursor) => {
      const { data } = await this.transport.send(
        (init) => this.transport.raw.GET('/v1/workflows', { ...init, params: { query: { limit: params.limit, cursor: cursor ?? params.cursor } } }),
        { retryConnectionErrors: true },
        options,
      );
      return { items: data.workflows, nextCursor: data.nextCursor };
    });
  }

  /** One workflow (NotFoundError when the workspace has none of that id). */
  async get(id: string, options?: RequestOptions): Promise<Workflow> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.GET('/v1/workflows/{id}', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }

  /** Stores a new workflow (version 1). An invalid graph throws InvalidWorkflowError with every problem. */
  async create(body: WorkflowBody, options?: RequestOptions): Promise<Workflow> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/workflows', { ...init, body }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }

  /**
   * Replaces a workflow's graph (its version goes up by one). With `ifMatch` (the version you
   * read), a workflow changed since throws ConflictError instead of being overwritten.
   */
  async update(id: string, body: WorkflowBody, { ifMatch, ...options }: RequestOptions & { ifMatch?: number } = {}): Promise<Workflow> {
    const { data } = await this.transport.send(
      (init) =>
        this.transport.raw.PUT('/v1/workflows/{id}', {
          ...init,
          params: { path: { id }, header: ifMatch === undefined ? undefined : { 'If-Match': String(ifMatch) } },
          body,
        }),
      { retryConnectionErrors: false },
      options,
    );
    return data;
  }

  /** Deletes a workflow. */
  async delete(id: string, options?: RequestOptions): Promise<void> {
    await this.transport.send(
      (init) => this.transport.raw.DELETE('/v1/workflows/{id}', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: false },
      options,
    );
  }

  /** Checks a graph without storing it: `{ valid, errors: { nodes, graph } }` (an invalid graph is an answer here, not an error). */
  async validate(body: WorkflowBody, options?: RequestOptions): Promise<ValidationReport> {
    // Validation stores nothing, so it may run twice.
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/workflows/validate', { ...init, body }),
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }

  /** The Python project the stored workflow compiles to: `{ 'main.py', 'utils.py', 'requirements.txt' }`. */
  async export(id: string, options?: RequestOptions): Promise<GeneratedFiles> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/workflows/{id}/export', { ...init, params: { path: { id } } }),
      { retryConnectionErrors: true },
      options,
    );
    // The operation answers JSON, or a zip with ?format=zip (exportZip): without the query it is JSON.
    return (data as Exclude<typeof data, string>).files;
  }

  /** The same files as a zip archive (`?format=zip`). */
  async exportZip(id: string, options?: RequestOptions): Promise<Uint8Array> {
    const { data } = await this.transport.send(
      (init) => this.transport.raw.POST('/v1/workflows/{id}/export', { ...init, params: { path: { id }, query: { format: 'zip' } }, parseAs: 'arrayBuffer' }),
      { retryConnectionErrors: true },
      options,
    );
    return new Uint8Array(data);
  }

  /**
   * Queues a run of the stored workflow: `{ executionId, status }`. Follow it with
   * `executions.wait(executionId)` or `executions.logs(executionId)`.
   */
  async execute(
    id: string,
    { inputs, gpu, timeoutSeconds, executor, idempotencyKey = crypto.randomUUID(), ...options }: ExecuteOptions = {},
  ): Promise<ExecuteResponse> {
    const { data } = await this.transport.send(
      (init) =>
        this.transport.raw.POST('/v1/workflows/{id}/execute', {
          ...init,
          params: { path: { id }, header: { 'Idempotency-Key': idempotencyKey } },
          body: { inputs, gpu, timeoutSeconds, executor },
        }),
      // The key makes a second delivery a replay: the server answers it without running anything again.
      { retryConnectionErrors: true },
      options,
    );
    return data;
  }
}
