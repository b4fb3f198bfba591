import { ApiProperty } from '@nestjs/swagger';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../../executions/execution.entity';
import { SIGNATURE_SCHEMES, type SignatureScheme } from '../hook-signature';
import type { ResponseMode } from '../webhook-trigger';

/** A workflow's webhook, as `GET /v1/workflows/{id}/webhook` shows it: never its secret. */
export class WebhookDto {
  @ApiProperty({ description: 'Where deliveries go', example: 'https://tensorify.example.com/v1/hooks/hk_4fV9sQ1LmZ8xT2Rb' }) url!: string;
  @ApiProperty({ pattern: '^hk_[0-9A-Za-z]{16}$', example: 'hk_4fV9sQ1LmZ8xT2Rb' }) hookId!: string;
  @ApiProperty({ enum: SIGNATURE_SCHEMES, description: "The trigger's `signature`: how a delivery proves it knows the secret", example: 'tensorify' })
  signature!: SignatureScheme;
  @ApiProperty({ enum: ['ack', 'wait'], description: "The trigger's `responseMode`", example: 'ack' }) responseMode!: ResponseMode;
  @ApiProperty({ type: [String], description: 'The methods the hook takes (others: 405)', example: ['POST'] }) methods!: string[];
  @ApiProperty({ description: 'In `wait` mode, how long a delivery waits for the output', minimum: 1, maximum: 300, example: 30 }) waitSeconds!: number;
}

/** The 202 of a delivery: the execution it started (or, redelivered, the one the first delivery started). */
export class HookAcceptedDto {
  @ApiProperty({ example: 'exec_7Hq2LmV9xK3pR0Ts' }) executionId!: string;
  @ApiProperty({ enum: EXECUTION_STATUSES, example: 'queued', description: 'Its status now (`queued` or `running`; a redelivery may find it finished)' })
  status!: ExecutionStatus;
}
