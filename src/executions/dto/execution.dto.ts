import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsObject, IsOptional, IsString, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { PageQueryDto } from '../../common/pagination';
import { EXECUTION_STATUSES, type ExecutionStatus, MAX_ATTEMPTS_LIMIT, MAX_BACKOFF_SECONDS, RETRY_REASONS, type RetryReason } from '../execution.entity';
import { type ExecutionTrigger, TRIGGER_TYPES, type TriggerType } from '../execution-trigger';

export class RetryPolicyDto {
  @ApiPropertyOptional({
    description: "Attempts in all, the first included (default 1, or the trigger node's `retry.maxAttempts`)",
    minimum: 1,
    maximum: MAX_ATTEMPTS_LIMIT,
    example: 3,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ATTEMPTS_LIMIT)
  maxAttempts?: number;

  @ApiPropertyOptional({
    description: "Seconds between an attempt's end and the next one's start (default 10)",
    minimum: 0,
    maximum: MAX_BACKOFF_SECONDS,
    example: 10,
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_BACKOFF_SECONDS)
  backoffSeconds?: number;

  @ApiPropertyOptional({
    description: 'The endings that start another attempt (default all three); a cancelled run is never tried again',
    enum: RETRY_REASONS,
    isArray: true,
    example: ['failed', 'timed_out', 'worker_lost'],
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(RETRY_REASONS.length)
  @IsIn(RETRY_REASONS, { each: true })
  on?: RetryReason[];
}

export class ExecuteDto {
  @ApiPropertyOptional({ description: "The run's inputs: the trigger's output and `{{ inputs.… }}`", example: { name: 'Ada' }, type: Object })
  @IsOptional()
  @IsObject()
  inputs?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Run on an executor with a GPU (400 `GPU_UNAVAILABLE` when none has one)', example: false })
  @IsOptional()
  @IsBoolean()
  gpu?: boolean;

  @ApiPropertyOptional({
    description: "Time limit in seconds (default and maximum from the server's configuration); past it the run ends `timed_out`",
    example: 60,
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  timeoutSeconds?: number;

  @ApiPropertyOptional({ description: 'The executor to run on (`GET /v1/executors`); default: `local`', example: 'local' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z][a-z0-9-]{0,31}$/)
  executor?: string;

  @ApiPropertyOptional({
    description:
      'Where to POST `{"type": "execution.finished", "execution": …}` when the run ends, signed with the workspace\'s signing secret (`Tensorify-Signature`). ' +
      'http(s) only; loopback, private, link-local and metadata addresses are refused unless the server allows them',
    example: 'https://example.com/tensorify/callback',
    maxLength: 2048,
  })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  callbackUrl?: string;

  @ApiPropertyOptional({
    type: RetryPolicyDto,
    example: { maxAttempts: 3, backoffSeconds: 10, on: ['failed', 'timed_out', 'worker_lost'] },
    description: "Try again a run that failed, timed out or lost its worker; what is left out comes from the trigger node's `retry` setting, then the defaults",
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RetryPolicyDto)
  retry?: RetryPolicyDto;
}

export class ExecuteResponseDto {
  @ApiProperty({ example: 'exec_7Hq2LmV9xK3pR0Ts' }) executionId!: string;
  @ApiProperty({
    enum: ['queued', 'running'],
    example: 'queued',
    description: 'A replayed Idempotency-Key answers as the first request did (`queued`); `GET` the `Location` for the status now',
  })
  status!: ExecutionStatus;
}

export class ExecutionTriggerDto {
  @ApiProperty({
    enum: TRIGGER_TYPES,
    example: 'webhook',
    description:
      '`api`: a request to `POST /v1/workflows/{id}/execute`; `webhook`: a delivery to `/v1/hooks/{hookId}`; `schedule`: a fire time of the schedule; `rerun`: `POST /v1/executions/{id}/rerun` of `executionId`',
  })
  type!: TriggerType;
  @ApiPropertyOptional({ example: 'hk_4fR9sLq2Vx8mTz0B', description: 'The hook that received the delivery (`webhook` only)' })
  hookId?: string;
  @ApiPropertyOptional({ example: '2026-12-07T02:30:00.000Z', description: 'The fire time the cron named, not the time it ran (`schedule` only)' })
  fireTime?: string;
  @ApiPropertyOptional({ example: 'exec_7Hq2LmV9xK3pR0Ts', description: 'The execution this one re-runs (`rerun` only)' })
  executionId?: string;
}

class ExecutionErrorDto {
  @ApiProperty({ enum: ['EXECUTION_FAILED', 'TIMED_OUT', 'CANCELLED', 'WORKER_LOST', 'EXECUTOR_UNAVAILABLE'], example: 'EXECUTION_FAILED' }) code!: string;
  @ApiProperty({ example: 'The program exited with code 1:\nNode "score" failed: KeyError: \'numbers\'' }) message!: string;
}

export class ExecutionAttemptDto {
  @ApiProperty({ example: 1, description: 'From 1' }) attempt!: number;
  @ApiProperty({ enum: EXECUTION_STATUSES, example: 'failed', description: 'How it ended, or `queued`/`running` for the current attempt' })
  status!: ExecutionStatus;
  @ApiProperty({ type: ExecutionErrorDto, nullable: true, description: 'Why it did not complete; null while it runs and when it completed' })
  error!: ExecutionErrorDto | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:35.123Z' }) startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:35.512Z' }) completedAt!: string | null;
}

export class ExecutionDto {
  @ApiProperty({ example: 'exec_7Hq2LmV9xK3pR0Ts' }) id!: string;
  @ApiProperty({ example: 'wf_3mT8c0RkQ2xZp9Lb' }) workflowId!: string;
  @ApiProperty({ example: 3, description: 'The workflow version that ran' }) workflowVersion!: number;
  @ApiProperty({ enum: EXECUTION_STATUSES, example: 'completed' }) status!: ExecutionStatus;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:35.123Z' }) startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:35.512Z' }) completedAt!: string | null;
  @ApiProperty({ type: [String], example: ['[node trigger] started', '[node trigger] finished in 0.1 ms', '{"result": "Hello, Ada!"}'] }) logs!: string[];
  @ApiProperty({
    description: "What the workflow's return node produced (`{}` when none); null until it completes",
    example: { result: 'Hello, Ada!' },
    nullable: true,
    type: Object,
  })
  output!: unknown;
  @ApiProperty({ type: ExecutionErrorDto, nullable: true, description: 'Why the run did not complete; null while it runs and when it completed' })
  error!: ExecutionErrorDto | null;
  @ApiProperty({ type: String, nullable: true, example: 'local' }) executor!: string | null;
  @ApiProperty({ type: Number, nullable: true, example: 0 }) exitCode!: number | null;
  @ApiProperty({
    type: String,
    nullable: true,
    example: '48213',
    description:
      'Where the executor runs it, as soon as the run has started: the process group id (local), the container id (docker), host:pid (ssh); null before, or when the executor gives none',
  })
  externalId!: string | null;
  @ApiProperty({ example: false }) gpu!: boolean;
  @ApiProperty({ example: '2026-11-28T13:37:35.001Z' }) createdAt!: string;
  @ApiProperty({ type: ExecutionTriggerDto, description: 'What started the execution' }) trigger!: ExecutionTrigger;
  @ApiProperty({ example: 1, description: "The attempt it is at (from 1); `status` is that attempt's, `queued` while it waits for its backoff" })
  attempt!: number;
  @ApiProperty({ example: 3, description: 'Attempts its retry policy allows in all' }) maxAttempts!: number;
  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'While it waits for its next attempt: when that one may start; null otherwise',
  })
  nextAttemptAt!: string | null;
  @ApiProperty({ type: [ExecutionAttemptDto], description: 'Its attempts in order, the current one last' }) attempts!: ExecutionAttemptDto[];
}

export class ExecutionSummaryDto {
  @ApiProperty({ example: 'exec_7Hq2LmV9xK3pR0Ts' }) id!: string;
  @ApiProperty({ example: 'wf_3mT8c0RkQ2xZp9Lb' }) workflowId!: string;
  @ApiProperty({ example: 3 }) workflowVersion!: number;
  @ApiProperty({ enum: EXECUTION_STATUSES, example: 'completed' }) status!: ExecutionStatus;
  @ApiProperty({ type: String, nullable: true, example: 'local' }) executor!: string | null;
  @ApiProperty({ example: '2026-11-28T13:37:35.001Z' }) createdAt!: string;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:35.123Z' }) startedAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:35.512Z' }) completedAt!: string | null;
  @ApiProperty({ type: ExecutionTriggerDto, description: 'What started the execution' }) trigger!: ExecutionTrigger;
}

export class ExecutionListDto {
  @ApiProperty({ type: [ExecutionSummaryDto] }) executions!: ExecutionSummaryDto[];
  @ApiProperty({ type: String, nullable: true, example: null }) nextCursor!: string | null;
}

export class ExecutionListQueryDto extends PageQueryDto {
  // Optional filters and headers give their example in words: Swagger UI's "Try it out" would send an `example`.
  @ApiPropertyOptional({ description: 'Only executions of this workflow, e.g. `wf_3mT8c0RkQ2xZp9Lb`' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  workflowId?: string;

  @ApiPropertyOptional({ enum: EXECUTION_STATUSES, description: 'Only executions in this status' })
  @IsOptional()
  @IsIn(EXECUTION_STATUSES)
  status?: ExecutionStatus;

  @ApiPropertyOptional({ enum: TRIGGER_TYPES, description: 'Only executions started this way' })
  @IsOptional()
  @IsIn(TRIGGER_TYPES)
  trigger?: TriggerType;
}

export class ExecutionFilesDto {
  @ApiProperty({
    description: 'The files that ran: byte-identical to an export of that workflow version',
    example: { 'main.py': '"""Hello: workflow wf_…', 'utils.py': '"""Helpers…', 'requirements.txt': '# Python packages…\n' },
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  files!: Record<string, string>;
}
