import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { AuthContext } from '../auth/auth-context';
import type { GeneratedFiles } from '../codegen/workflow-compiler';
import { WorkflowExporter } from '../codegen/workflow-exporter';
import { Clock, CLOCK } from '../common/clock';
import { BadRequestError, ConflictError, ErrorCode, NotFoundError, ServiceUnavailableError, ValidationError } from '../common/errors';
import { ID_PREFIX, looksLikeId, newId } from '../common/ids';
import { outboundUrlProblem } from '../common/outbound-url';
import { Page, toPage } from '../common/pagination';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { isUniqueViolation } from '../database/query-helpers';
import { ExecutorRegistry } from '../executors/executor-registry';
import { WorkflowsService } from '../workflows/workflows.service';
import { NodeCatalog } from '../nodes/node-catalog';
import {
  DEFAULT_RETRY,
  ExecutionEntity,
  MAX_ATTEMPTS_LIMIT,
  MAX_BACKOFF_SECONDS,
  RETRY_REASONS,
  type RetryReason,
  TERMINAL_STATUSES,
} from './execution.entity';
import { ExecutionCommits } from './execution-commits';
import { workspaceConcurrency } from './execution-limits';
import { EXECUTION_QUEUE, type ExecutionQueue } from './execution-queue';
import { ExecutionLogs } from './execution-logs';
import { ExecutionPurge } from './execution-purge';
import { API_TRIGGER, type ExecutionTrigger } from './execution-trigger';
import { ExecutionRunner } from './execution-runner';
import { type ExecutionFilter, type ExecutionRecord, ExecutionsRepository, type NewExecution } from './executions.repository';

/** How long an Idempotency-Key keeps answering with the execution it created. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface ExecuteRequest {
  inputs?: Record<string, unknown>;
  gpu?: boolean;
  timeoutSeconds?: number;
  executor?: string;
  /** What started it; default `{type: 'api'}` (a request to the execute endpoint). */
  trigger?: ExecutionTrigger;
  /** Where to POST `execution.finished` when it ends (checked against server-side request forgery here). */
  callbackUrl?: string;
  /** Its retry policy; what is left out comes from the trigger node's `retry` setting, then DEFAULT_RETRY. */
  retry?: RetryPolicyInput;
}

export interface RetryPolicyInput {
  maxAttempts?: number;
  backoffSeconds?: number;
  on?: RetryReason[];
}

/**
 * The policy of a new execution: each field from the request, else from the workflow's trigger
 * node (`settings.retry`), else the default. Checked here too (not only by the DTO): webhooks and
 * schedules execute without one. A bad value is a VALIDATION_ERROR naming the field.
 */
export function retryPolicy(request: RetryPolicyInput | undefined, node: RetryPolicyInput | undefined): Required<RetryPolicyInput> {
  const policy = {
    maxAttempts: request?.maxAttempts ?? node?.maxAttempts ?? DEFAULT_RETRY.maxAttempts,
    backoffSeconds: request?.backoffSeconds ?? node?.backoffSeconds ?? DEFAULT_RETRY.backoffSeconds,
    on: request?.on ?? node?.on ?? [...DEFAULT_RETRY.on],
  };
  const fields: Record<string, string[]> = {};
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1 || policy.maxAttempts > MAX_ATTEMPTS_LIMIT) {
    fields['retry.maxAttempts'] = [`must be an integer from 1 to ${MAX_ATTEMPTS_LIMIT}`];
  }
  if (!Number.isInteger(policy.backoffSeconds) || policy.backoffSeconds < 0 || policy.backoffSeconds > MAX_BACKOFF_SECONDS) {
    fields['retry.backoffSeconds'] = [`must be an integer from 0 to ${MAX_BACKOFF_SECONDS}`];
  }
  if (!Array.isArray(policy.on) || policy.on.some((reason) => !(RETRY_REASONS as readonly string[]).includes(reason))) {
    fields['retry.on'] = [`must be a list of ${RETRY_REASONS.join(', ')}`];
  }
  if (Object.keys(fields).length > 0) {
    throw new ValidationError(
      `Invalid retry policy: ${Object.entries(fields)
        .map(([field, [message]]) => `${field} ${message}`)
        .join('; ')}`,
      fields,
    );
  }
  return { ...policy, on: [...new Set(policy.on)] };
}

/** One attempt of an execution, as `GET /v1/executions/:id` lists them. */
export interface ExecutionAttempt {
  attempt: number;
  status: ExecutionEntity['status'];
  errorCode: ExecutionEntity['errorCode'];
  errorMessage: string | null;
  startedAt: Date | null;
  completedAt: Date | null;
}

/** The workspace an execution runs in: from the caller's API key, or from the hook or schedule that started it. */
export type ExecutingWorkspace = Pick<AuthContext['workspace'], 'id' | 'plan'>;

/** Starts, reads, lists and cancels executions; the runner does the running. */
@Injectable()
export class ExecutionsService {
  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly workflows: WorkflowsService,
    private readonly exporter: WorkflowExporter,
    private readonly registry: ExecutorRegistry,
    private readonly runner: ExecutionRunner,
    private readonly logs: ExecutionLogs,
    private readonly purge: ExecutionPurge,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly catalog: NodeCatalog,
    private readonly commits: ExecutionCommits,
  ) {}

  /**
   * Compiles the workflow's current version, stores a `queued` execution with the files it will
   * run, and only then queues it. With an idempotency key seen in the last 24 hours, answers with
   * the execution it created (the same request) or 409 (another request). `fingerprint` says what
   * makes two requests with one key the same (default: a hash of the whole request), for callers
   * whose requests differ in what does not matter (a webhook redelivered with other headers).
   */
  async execute(
    workspace: ExecutingWorkspace,
    workflowId: string,
    request: ExecuteRequest,
    idempotencyKey?: string,
    fingerprint?: string,
  ): Promise<{ execution: ExecutionRecord; replayed: boolean }> {
    const timeoutSeconds = request.timeoutSeconds ?? this.config.executionTimeoutSeconds;
    if (timeoutSeconds > this.config.maxExecutionSeconds) {
      throw new ValidationError(`timeoutSeconds may be at most ${this.config.maxExecutionSeconds} on this server`, {
        timeoutSeconds: [`must not be greater than ${this.config.maxExecutionSeconds}`],
      });
    }
    if (request.callbackUrl !== undefined) await this.checkCallbackUrl(request.callbackUrl);
    const requestHash = idempotencyKey === undefined ? null : (fingerprint ?? hashRequest(workflowId, request));
    if (idempotencyKey !== undefined) {
      const earlier = await this.findByIdempotencyKey(workspace.id, idempotencyKey, requestHash!);
      if (earlier) return { execution: earlier, replayed: true };
    }
    const workflow = await this.workflows.get(workspace.id, workflowId);
    const triggerNode = workflow.nodes.find((node) => this.catalog.resolve(node.type)?.trigger === true);
    const retry = retryPolicy(request.retry, (triggerNode?.settings as { retry?: RetryPolicyInput } | undefined)?.retry);
    // The request's callbackUrl, or else the trigger node's setting: only trigger nodes (manual, webhook, schedule) declare one.
    const nodeCallbackUrl = (triggerNode?.settings as { callbackUrl?: unknown } | undefined)?.callbackUrl;
    const callbackUrl = request.callbackUrl ?? (typeof nodeCallbackUrl === 'string' ? nodeCallbackUrl : undefined);
    if (request.callbackUrl === undefined && callbackUrl !== undefined) await this.checkCallbackUrl(callbackUrl);
    const executor = await this.chooseExecutor(request);
    const files = this.exporter.files(workflow);
    const fields: NewExecution = {
      id: newId(ID_PREFIX.execution),
      workspaceId: workspace.id,
      workflowId: workflow.id,
      workflowVersion: workflow.version,
      executor,
      gpu: request.gpu ?? false,
      inputs: request.inputs ?? {},
      timeoutSeconds,
      files,
      idempotencyKey: idempotencyKey ?? null,
      requestHash,
      createdAt: new Date(this.clock.now()),
      triggerType: (request.trigger ?? API_TRIGGER).type,
      trigger: request.trigger ?? API_TRIGGER,
      callbackUrl: callbackUrl ?? null,
      maxAttempts: retry.maxAttempts,
      retryBackoffSeconds: retry.backoffSeconds,
      retryOn: retry.on,
    };
    const workspaceLimit = workspaceConcurrency(workspace.plan, this.config);
    let execution: ExecutionEntity;
    try {
      // Stored and queued together with the executions that arrive meanwhile (group commit).
      execution = await this.commits.commit(fields, workspaceLimit);
    } catch (error) {
      // Two requests with the same new key at once: the one that lost answers like a replay.
      if (idempotencyKey === undefined || !isUniqueViolation(error)) throw error;
      const winner = await this.findByIdempotencyKey(workspace.id, idempotencyKey, requestHash!);
      if (winner) return { execution: winner, replayed: true };
      throw error;
    }
    return { execution, replayed: false };
  }

  /**
   * A new execution of what a finished one ran: its files (the workflow version it ran, even if the
   * workflow changed since), inputs, executor, GPU, time limit and retry policy. 409 while it has
   * not finished.
   */
  async rerun(workspace: ExecutingWorkspace, id: string): Promise<ExecutionRecord> {
    const original = await this.get(workspace.id, id);
    if (!TERMINAL_STATUSES.has(original.status)) {
      throw new ConflictError(`Execution ${id} has not finished (${original.status}); only a finished execution can be re-run`, { status: original.status });
    }
    const source = await this.executions.findToRun(id);
    if (source === null) throw this.notFound(id);
    const trigger: ExecutionTrigger = { type: 'rerun', executionId: id };
    const execution = await this.commits.commit(
      {
        id: newId(ID_PREFIX.execution),
        workspaceId: workspace.id,
        workflowId: source.workflowId,
        workflowVersion: source.workflowVersion,
        executor: source.executor,
        gpu: source.gpu,
        inputs: source.inputs,
        timeoutSeconds: source.timeoutSeconds,
        files: source.files,
        idempotencyKey: null,
        requestHash: null,
        createdAt: new Date(this.clock.now()),
        triggerType: trigger.type,
        trigger,
        maxAttempts: source.maxAttempts,
        retryBackoffSeconds: source.retryBackoffSeconds,
        retryOn: source.retryOn,
      },
      workspaceConcurrency(workspace.plan, this.config),
    );
    return execution;
  }

  /** The attempts of an execution: those that ended and were followed by another, then its current one. */
  async attempts(execution: ExecutionRecord): Promise<ExecutionAttempt[]> {
    // Only those before the row's attempt: a process that died between keeping an attempt and queuing the next leaves one behind.
    const earlier = execution.attempt > 1 ? (await this.executions.attempts(execution.id)).filter((kept) => kept.attempt < execution.attempt) : [];
    return [
      ...earlier.map(({ attempt, status, errorCode, errorMessage, startedAt, completedAt }) => ({
        attempt,
        status,
        errorCode,
        errorMessage,
        startedAt,
        completedAt,
      })),
      {
        attempt: execution.attempt,
        status: execution.status,
        errorCode: execution.errorCode,
        errorMessage: execution.errorMessage,
        startedAt: execution.status === 'queued' ? null : execution.startedAt,
        completedAt: execution.completedAt,
      },
    ];
  }

  /** An execution of the workspace, without the files it ran (see `files`). */
  async get(workspaceId: string, id: string): Promise<ExecutionRecord> {
    if (!looksLikeId(ID_PREFIX.execution, id)) throw this.notFound(id);
    const execution = await this.executions.find(id);
    if (!execution || execution.workspaceId !== workspaceId) throw this.notFound(id);
    return execution;
  }

  /** The files an execution of the workspace ran. */
  async files(workspaceId: string, id: string): Promise<GeneratedFiles> {
    if (!looksLikeId(ID_PREFIX.execution, id)) throw this.notFound(id);
    const execution = await this.executions.findFiles(id);
    if (!execution || execution.workspaceId !== workspaceId) throw this.notFound(id);
    return execution.files;
  }

  async list(workspaceId: string, filter: ExecutionFilter, limit: number, cursor?: string): Promise<Page<ExecutionRecord>> {
    return toPage(await this.executions.list(workspaceId, filter, limit, cursor), limit);
  }

  /**
   * Cancels a queued execution at once, or asks the runner to stop a running one: it turns
   * `cancelled` when the executor reports the process gone. A finished execution is a 409.
   */
  async cancel(workspaceId: string, id: string): Promise<ExecutionRecord> {
    const execution = await this.get(workspaceId, id);
    if (TERMINAL_STATUSES.has(execution.status)) {
      throw new ConflictError(`Execution ${id} already finished (${execution.status}); only a queued or running execution can be cancelled`, {
        status: execution.status,
      });
    }
    const now = new Date(this.clock.now());
    await this.executions.requestCancel(id, now);
    // Queued: it ends here and now, whichever process would have run it (a worker drops its job).
    // Running, or started meanwhile: the process running it stops it, and it ends once the program is gone.
    this.queue.remove(id);
    if (!(execution.status === 'queued' && (await this.runner.finishCancelledBeforeStart(id)))) this.runner.requestCancel(id);
    return this.get(workspaceId, id);
  }

  /** Deletes a finished execution of the workspace now, with its logs and files (what the retention job does to old ones). */
  async delete(workspaceId: string, id: string): Promise<void> {
    const execution = await this.get(workspaceId, id);
    const stillRunning = () =>
      new ConflictError(`Execution ${id} is ${execution.status}; only a finished execution can be deleted (cancel it first)`, { status: execution.status });
    if (!TERMINAL_STATUSES.has(execution.status)) throw stillRunning();
    const { executions } = await this.purge.purge([id]);
    // Gone meanwhile (another delete, the retention job) is what was asked for; re-queued meanwhile (a retry) is not.
    if (executions === 0 && (await this.executions.find(id)) !== null) {
      const now = await this.get(workspaceId, id);
      throw new ConflictError(`Execution ${id} is ${now.status}; only a finished execution can be deleted (cancel it first)`, { status: now.status });
    }
  }

  /**
   * The execution once it has ended, or as it is after `timeoutMs`, whichever comes first. Told by
   * the end event of the process that ran it (ExecutionLogs, through Redis in the distributed
   * mode), not by polling the row.
   */
  async awaitEnd(workspaceId: string, id: string, timeoutMs: number): Promise<ExecutionRecord> {
    let ended!: () => void;
    const end = new Promise<void>((resolve) => (ended = resolve));
    const { unsubscribe, ready } = this.logs.subscribe(
      id,
      () => undefined,
      () => ended(),
    );
    let timer: NodeJS.Timeout | undefined;
    try {
      // Subscribed before the row is read: an end between the two is not missed.
      await ready;
      const current = await this.get(workspaceId, id);
      if (TERMINAL_STATUSES.has(current.status)) return current;
      const timedOut = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs))));
      await Promise.race([end, timedOut]);
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
    return this.get(workspaceId, id);
  }

  /** The lines of an execution, all of them (the cap bounds how many there are). */
  async logLines(execution: Pick<ExecutionEntity, 'id'>): Promise<string[]> {
    return (await this.logs.read(execution.id)).map((line) => line.line);
  }

  /** 400 naming `callbackUrl` when it is not http(s) or points inside the server's network (see common/outbound-url.ts). */
  private async checkCallbackUrl(url: string): Promise<void> {
    const problem = await outboundUrlProblem(url, this.config.callbackAllowPrivate);
    if (problem !== null) throw new ValidationError(`callbackUrl ${problem}`, { callbackUrl: [problem] });
  }

  private async chooseExecutor(request: ExecuteRequest): Promise<string> {
    if (request.executor !== undefined) {
      const known = this.registry.list().find((plugin) => plugin.id === request.executor);
      if (known === undefined) {
        const ids = this.registry
          .list()
          .filter((plugin) => plugin.executor)
          .map((plugin) => `"${plugin.id}"`);
        throw new ValidationError(`No executor "${request.executor}" on this server (GET /v1/executors lists them: ${ids.join(', ')})`, {
          executor: ['is not a loaded executor'],
        });
      }
      if (!known.executor) {
        throw new ServiceUnavailableError(ErrorCode.EXECUTOR_UNAVAILABLE, `Executor "${request.executor}" failed to load: ${known.loadError}`);
      }
      if (request.gpu && !(await this.registry.capabilities(request.executor))?.gpu) {
        throw new BadRequestError(ErrorCode.GPU_UNAVAILABLE, `Executor "${request.executor}" has no GPU; leave out "executor" or choose one that has`);
      }
      return request.executor;
    }
    if (request.gpu) {
      for (const plugin of this.registry.list()) {
        if (plugin.id !== null && plugin.executor && (await this.registry.capabilities(plugin.id))?.gpu) return plugin.id;
      }
      throw new BadRequestError(
        ErrorCode.GPU_UNAVAILABLE,
        'No executor on this server has a GPU (GET /v1/executors shows what each one has); nothing was queued',
      );
    }
    const fallback = this.registry.default();
    if (fallback === undefined) {
      throw new ServiceUnavailableError(ErrorCode.EXECUTOR_UNAVAILABLE, 'No executor is loaded on this server (GET /v1/executors shows why)');
    }
    return fallback.id;
  }

  private async findByIdempotencyKey(workspaceId: string, key: string, requestHash: string): Promise<ExecutionRecord | undefined> {
    const earlier = await this.executions.findByIdempotencyKey(workspaceId, key);
    if (!earlier) return undefined;
    if (this.clock.now() - earlier.createdAt.getTime() >= IDEMPOTENCY_WINDOW_MS) {
      // Expired: the key is free again for a new execution.
      await this.executions.releaseIdempotencyKey(earlier.id);
      return undefined;
    }
    if (earlier.requestHash !== requestHash) {
      throw new ConflictError(`Idempotency-Key "${key}" was used for another request (execution ${earlier.id}); use a new key for a new request`, {
        executionId: earlier.id,
      });
    }
    return earlier;
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(ErrorCode.EXECUTION_NOT_FOUND, `Execution ${id} not found`);
  }
}

/** A stable hash of what the request asks for: the workflow and the body, keys sorted. */
function hashRequest(workflowId: string, request: ExecuteRequest): string {
  return createHash('sha256')
    .update(canonicalJson({ workflowId, ...request }))
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
