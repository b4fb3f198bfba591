import type { ExecutionDto } from './dto/execution.dto';
import { API_TRIGGER } from './execution-trigger';
import type { ExecutionRecord } from './executions.repository';
import type { ExecutionAttempt } from './executions.service';

/** The public shape of an execution (`GET /v1/executions/:id`) without its logs: also the body of a completion callback. */
export function executionView(execution: ExecutionRecord, attempts: readonly ExecutionAttempt[]): Omit<ExecutionDto, 'logs'> {
  return {
    id: execution.id,
    workflowId: execution.workflowId,
    workflowVersion: execution.workflowVersion,
    status: execution.status,
    startedAt: execution.startedAt?.toISOString() ?? null,
    completedAt: execution.completedAt?.toISOString() ?? null,
    output: execution.output ?? null,
    error: execution.errorCode === null ? null : { code: execution.errorCode, message: execution.errorMessage ?? '' },
    executor: execution.executor,
    exitCode: execution.exitCode,
    externalId: execution.externalId,
    gpu: execution.gpu,
    createdAt: execution.createdAt.toISOString(),
    trigger: execution.trigger ?? API_TRIGGER,
    attempt: execution.attempt,
    maxAttempts: execution.maxAttempts,
    nextAttemptAt: execution.status === 'queued' ? (execution.nextAttemptAt?.toISOString() ?? null) : null,
    attempts: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      status: attempt.status,
      error: attempt.errorCode === null ? null : { code: attempt.errorCode, message: attempt.errorMessage ?? '' },
      startedAt: attempt.startedAt?.toISOString() ?? null,
      completedAt: attempt.completedAt?.toISOString() ?? null,
    })),
  };
}
