import createClient, { type ClientOptions } from 'openapi-fetch';
import type { paths } from '../schema';
import { errorFromResponse } from './errors';
import { ApiKeys, Workspaces } from './resources/admin';
import { Executions } from './resources/executions';
import { Executors, MeResource, Nodes, System } from './resources/server';
import { Workflows } from './resources/workflows';
import { Transport, type TensorifyClient } from './transport';

/** Where the server is when neither `baseUrl` nor TENSORIFY_BASE_URL says. */
export const DEFAULT_BASE_URL = 'http://localhost:3000/v1';

export interface TensorifyOptions {
  /** A `tfy_…` key; default: the TENSORIFY_API_KEY environment variable. Only /health, /health/ready and /metrics work without one. */
  apiKey?: string;
  /** The server, with or without the `/v1` at its end; default: TENSORIFY_BASE_URL, else `http://localhost:3000/v1`. */
  baseUrl?: string;
  /** Retries of a 429 or 503 answer (after its `Retry-After`) and of a connection error where a retry is safe; default 2. */
  maxRetries?: number;
  /** How long one request may take before APITimeoutError (for a log stream: until its headers); default 60 s. */
  timeoutMs?: number;
  /** The longest `Retry-After` the SDK waits for before a retry; a longer one is thrown at once; default 60 s. */
  maxRetryAfterMs?: number;
  /** Headers sent with every request. */
  headers?: Record<string, string>;
  /** The fetch to send requests with (default: the global one). */
  fetch?: (request: Request) => Promise<Response>;
}

/**
 * The Tensorify Server SDK. Every operation of the API, by resource:
 *
 * ```ts
 * import { Tensorify } from '@tensorify/client';
 *
 * const tensorify = new Tensorify({ apiKey: 'tfy_…', baseUrl: 'http://localhost:3000' });
 * const workflow = await tensorify.workflows.create({ name: 'Hello', nodes, edges });
 * const { executionId } = await tensorify.workflows.execute(workflow.id, { inputs: { name: 'Ada' } });
 * for await (const { line } of tensorify.executions.logs(executionId)) console.log(line);
 * const execution = await tensorify.executions.wait(executionId, { timeoutMs: 60_000 });
 * ```
 *
 * Errors are thrown as TensorifyError subclasses (NotFoundError, RateLimitError…). `raw` is the
 * typed openapi-fetch client underneath, for a call the resources do not make.
 */
export class Tensorify {
  readonly workflows: Workflows;
  readonly executions: Executions;
  readonly nodes: Nodes;
  readonly executors: Executors;
  readonly system: System;
  readonly me: MeResource;
  readonly workspaces: Workspaces;
  readonly apiKeys: ApiKeys;
  /** The openapi-fetch client (same key, headers and fetch), answering `{ data, error, response }`: no retries, nothing thrown. */
  readonly raw: TensorifyClient;
  /** The server's root URL the requests go to (without `/v1`). */
  readonly baseUrl: string;

  constructor(options: TensorifyOptions = {}) {
    const env = typeof process === 'undefined' ? {} : process.env;
    this.baseUrl = serverRoot(options.baseUrl ?? env.TENSORIFY_BASE_URL ?? DEFAULT_BASE_URL);
    this.raw = createTensorifyClient({
      baseUrl: this.baseUrl,
      apiKey: options.apiKey ?? env.TENSORIFY_API_KEY,
      headers: options.headers,
      fetch: options.fetch,
    });
    const transport = new Transport(this.raw, {
      maxRetries: options.maxRetries ?? 2,
      timeoutMs: options.timeoutMs ?? 60_000,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 60_000,
    });
    this.workflows = new Workflows(transport);
    this.executions = new Executions(transport);
    this.nodes = new Nodes(transport);
    this.executors = new Executors(transport);
    this.system = new System(transport);
    this.me = new MeResource(transport);
    this.workspaces = new Workspaces(transport);
    this.apiKeys = new ApiKeys(transport);
  }
}

/** `http://host:3000/v1/` → `http://host:3000`: the paths of the API carry their `/v1`. */
function serverRoot(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

export interface TensorifyClientOptions extends Omit<ClientOptions, 'baseUrl' | 'headers'> {
  /** The server's root URL, e.g. `http://127.0.0.1:3000` (paths start with `/v1`). */
  baseUrl: string;
  /** A `tfy_…` API key, sent as `Authorization: Bearer …`. */
  apiKey?: string;
  /** Headers sent with every request (an `apiKey` takes precedence over an Authorization header here). */
  headers?: Record<string, string>;
}

/**
 * The bare typed client (openapi-fetch over the server's OpenAPI types): each call resolves to
 * `{ data, response }` or `{ error, response }`, with no retries; `unwrap` throws the error.
 *
 * ```ts
 * const client = createTensorifyClient({ baseUrl: 'http://127.0.0.1:3000', apiKey: 'tfy_…' });
 * const workflow = unwrap(await client.GET('/v1/workflows/{id}', { params: { path: { id } } }));
 * ```
 */
export function createTensorifyClient({ baseUrl, apiKey, headers, ...options }: TensorifyClientOptions): TensorifyClient {
  return createClient<paths>({
    ...options,
    baseUrl,
    headers: { ...headers, ...(apiKey === undefined ? {} : { Authorization: `Bearer ${apiKey}` }) },
  });
}

/** The data of a successful call of the bare client; throws the TensorifyError of an error answer. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (!result.response.ok) throw errorFromResponse(result.response, result.error);
  return result.data as T;
}
