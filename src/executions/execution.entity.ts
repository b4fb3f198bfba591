import { Column, Entity, PrimaryColumn } from 'typeorm';
import { JsonColumn, jsonText, TimestampColumn } from '../database/columns';
import type { GeneratedFiles } from '../codegen/workflow-compiler';
import type { ExecutionTrigger, TriggerType } from './execution-trigger';

export const EXECUTION_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled', 'timed_out'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<ExecutionStatus> = new Set(['completed', 'failed', 'cancelled', 'timed_out']);

/** What may start another attempt: a failed run, a run past its time limit, a run whose worker was lost. */
export const RETRY_REASONS = ['failed', 'timed_out', 'worker_lost'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];
export const MAX_ATTEMPTS_LIMIT = 10;
export const MAX_BACKOFF_SECONDS = 3600;
export const DEFAULT_RETRY = { maxAttempts: 1, backoffSeconds: 10, on: [...RETRY_REASONS] as RetryReason[] };

/** Why an execution did not complete: `error.code` of the public shape. */
export const ExecutionErrorCode = {
  EXECUTION_FAILED: 'EXECUTION_FAILED',
  TIMED_OUT: 'TIMED_OUT',
  CANCELLED: 'CANCELLED',
  WORKER_LOST: 'WORKER_LOST',
  EXECUTOR_UNAVAILABLE: 'EXECUTOR_UNAVAILABLE',
} as const;
export type ExecutionErrorCode = (typeof ExecutionErrorCode)[keyof typeof ExecutionErrorCode];

@Entity({ name: 'executions' })
export class ExecutionEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 }) id!: string;
  @Column({ name: 'workspace_id', type: 'varchar', length: 32 }) workspaceId!: string;
  @Column({ name: 'workflow_id', type: 'varchar', length: 32 }) workflowId!: string;
  @Column({ name: 'workflow_version', type: 'integer' }) workflowVersion!: number;
  @Column({ type: 'varchar', length: 16 }) status!: ExecutionStatus;
  @Column({ type: 'varchar', length: 64, nullable: true }) executor!: string | null;
  @Column({ type: 'boolean' }) gpu!: boolean;
  @JsonColumn({ name: 'inputs' }) inputs!: Record<string, unknown>;
  @Column({ name: 'timeout_seconds', type: 'integer' }) timeoutSeconds!: number;
  /**
   * The files it runs, on rows from before programs; null on a row whose files are its program's
   * (`programId`), which holds '' in the column (NOT NULL since the first migration, and SQLite
   * cannot drop that without copying the table).
   */
  @Column({
    type: 'text',
    transformer: {
      to: (v: GeneratedFiles | null | undefined) => (v === undefined ? undefined : v === null ? '' : jsonText.to(v)),
      from: (v: string) => (v === '' ? null : (jsonText.from(v) as GeneratedFiles)),
    },
  })
  files!: GeneratedFiles | null;
  /** The program it runs (`programs`, stored once for all the executions of the same files); null on rows from before programs. */
  @Column({ name: 'program_id', type: 'varchar', length: 64, nullable: true }) programId!: string | null;
  @Column({
    type: 'text',
    nullable: true,
    transformer: {
      to: (v: unknown) => (v === undefined ? null : JSON.stringify(v)),
      from: (v: string | null) => (v === null ? null : (JSON.parse(v) as unknown)),
    },
  })
  output!: unknown;
  @Column({ name: 'exit_code', type: 'integer', nullable: true }) exitCode!: number | null;
  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true }) errorCode!: ExecutionErrorCode | null;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage!: string | null;
  @Column({ name: 'external_id', type: 'varchar', length: 200, nullable: true }) externalId!: string | null;
  @Column({ name: 'log_count', type: 'integer', default: 0 }) logCount!: number;
  @Column({ name: 'idempotency_key', type: 'varchar', length: 255, nullable: true }) idempotencyKey!: string | null;
  @Column({ name: 'request_hash', type: 'varchar', length: 64, nullable: true }) requestHash!: string | null;
  @TimestampColumn({ name: 'created_at' }) createdAt!: Date;
  @TimestampColumn({ name: 'started_at', nullable: true }) startedAt!: Date | null;
  @TimestampColumn({ name: 'completed_at', nullable: true }) completedAt!: Date | null;
  @TimestampColumn({ name: 'cancel_requested_at', nullable: true }) cancelRequestedAt!: Date | null;
  /** What started it (`api`, `webhook`, `schedule`): the column `?trigger=` filters on. */
  @Column({ name: 'trigger_type', type: 'varchar', length: 16, default: 'api' }) triggerType!: TriggerType;
  /** The trigger's details as the API shows them; null on rows from before triggers were recorded (they were `api`). */
  @Column({
    type: 'text',
    nullable: true,
    transformer: {
      to: (v: ExecutionTrigger | null | undefined) => (v === undefined || v === null ? null : JSON.stringify(v)),
      from: (v: string | null) => (v === null ? null : (JSON.parse(v) as ExecutionTrigger)),
    },
  })
  trigger!: ExecutionTrigger | null;
  /** Distributed mode: when the worker running it last said it still does. */
  @TimestampColumn({ name: 'heartbeat_at', nullable: true }) heartbeatAt!: Date | null;
  /** Where the `callbacks` module POSTs `execution.finished` when the execution ends (a database trigger queues it); null: nowhere. */
  @Column({ name: 'callback_url', type: 'varchar', length: 2048, nullable: true }) callbackUrl!: string | null;
  /** The attempt it is at, from 1 (the row holds the current attempt; earlier ones are in `execution_attempts`). */
  @Column({ type: 'integer', default: 1 }) attempt!: number;
  @Column({ name: 'max_attempts', type: 'integer', default: 1 }) maxAttempts!: number;
  @Column({ name: 'retry_backoff_seconds', type: 'integer', default: 10 }) retryBackoffSeconds!: number;
  /** The reasons that start another attempt, comma-separated (`failed,timed_out,worker_lost`). */
  @Column({
    name: 'retry_on',
    type: 'varchar',
    length: 64,
    // As the migration's default: an insert that leaves it out gets every reason, not a NULL.
    default: RETRY_REASONS.join(','),
    transformer: {
      to: (v: readonly RetryReason[] | undefined) => (v === undefined ? undefined : v.join(',')),
      from: (v: string) => (v === '' ? [] : (v.split(',') as RetryReason[])),
    },
  })
  retryOn!: RetryReason[];
  /** While it waits for its next attempt: when that one may start. */
  @TimestampColumn({ name: 'next_attempt_at', nullable: true }) nextAttemptAt!: Date | null;
}

/** An attempt that ended and was followed by another one. */
@Entity({ name: 'execution_attempts' })
export class ExecutionAttemptEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 32 }) executionId!: string;
  @PrimaryColumn({ type: 'integer' }) attempt!: number;
  @Column({ type: 'varchar', length: 16 }) status!: ExecutionStatus;
  @Column({ name: 'error_code', type: 'varchar', length: 32, nullable: true }) errorCode!: ExecutionErrorCode | null;
  @Column({ name: 'error_message', type: 'text', nullable: true }) errorMessage!: string | null;
  @TimestampColumn({ name: 'started_at', nullable: true }) startedAt!: Date | null;
  @TimestampColumn({ name: 'completed_at' }) completedAt!: Date;
}

@Entity({ name: 'execution_logs' })
export class ExecutionLogEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 32 }) executionId!: string;
  @PrimaryColumn({ type: 'integer' }) seq!: number;
  @Column({ type: 'varchar', length: 8 }) stream!: string;
  @Column({ type: 'text' }) line!: string;
}
