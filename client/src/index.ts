/**
 * @tensorify/client, the TypeScript SDK of Tensorify Server. `Tensorify` is the entry point; see
 * README.md for a tour. The types of every schema and operation of the server's OpenAPI document
 * (generated into ../schema.d.ts) are exported too.
 */
export { Tensorify, DEFAULT_BASE_URL, createTensorifyClient, unwrap, type TensorifyOptions, type TensorifyClientOptions } from './client';
export type { TensorifyClient, RequestOptions } from './transport';
export {
  TensorifyError,
  APIError,
  BadRequestError,
  InvalidWorkflowError,
  AuthenticationError,
  PermissionDeniedError,
  NotFoundError,
  ConflictError,
  RateLimitError,
  InternalServerError,
  ServiceUnavailableError,
  APIConnectionError,
  APITimeoutError,
  WaitTimeoutError,
  isErrorEnvelope,
  type ErrorEnvelope,
  type ErrorCode,
  type ClientErrorCode,
  type GraphProblem,
} from './errors';
export { Paginator, type Page } from './pagination';
export { LogStream, type LogLine, type LogsOptions } from './logs';
export { Workflows, type ExecuteOptions } from './resources/workflows';
export { Executions, FINISHED_STATUSES, type WaitOptions } from './resources/executions';
export { Nodes, Executors, System, MeResource } from './resources/server';
export { Workspaces, ApiKeys } from './resources/admin';
export type * from './resources/types';
export type { components, operations, paths } from '../schema';
