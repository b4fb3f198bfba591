import { ApiProperty } from '@nestjs/swagger';
import { ATTEMPT_OUTCOMES, DELIVERY_STATUSES, type AttemptOutcome, type DeliveryStatus } from '../callback.entity';

export class CallbackAttemptDto {
  @ApiProperty({ example: 1, description: 'From 1' }) attempt!: number;
  @ApiProperty({ example: '2026-11-28T13:37:36.000Z' }) startedAt!: string;
  @ApiProperty({ example: 42 }) durationMs!: number;
  @ApiProperty({ type: Number, nullable: true, example: 500, description: "The receiver's status code; null when it did not answer" }) statusCode!:
    number | null;
  @ApiProperty({ type: String, nullable: true, example: 'The receiver answered 500', description: 'Why the attempt failed; null when delivered' })
  error!: string | null;
  @ApiProperty({ enum: ATTEMPT_OUTCOMES, example: 'failed' }) outcome!: AttemptOutcome;
}

export class CallbackDeliveryDto {
  @ApiProperty({ example: 'https://example.com/tensorify/callback' }) url!: string;
  @ApiProperty({ enum: DELIVERY_STATUSES, example: 'delivered', description: '`pending` until a 2xx (`delivered`) or 24 hours of retries (`failed`)' })
  status!: DeliveryStatus;
  @ApiProperty({ example: 2 }) attempts!: number;
  @ApiProperty({ type: String, nullable: true, example: null, description: 'When the next try is due (`pending` only)' }) nextAttemptAt!: string | null;
  @ApiProperty({ type: String, nullable: true, example: '2026-11-28T13:37:41.000Z' }) completedAt!: string | null;
}

export class ExecutionCallbacksDto {
  @ApiProperty({ example: 'exec_7Hq2LmV9xK3pR0Ts' }) executionId!: string;
  @ApiProperty({ type: String, nullable: true, example: 'https://example.com/tensorify/callback', description: 'The `callbackUrl` it was started with' })
  callbackUrl!: string | null;
  @ApiProperty({ type: CallbackDeliveryDto, nullable: true, description: 'Null until the execution ends (or when it has no callback)' })
  delivery!: CallbackDeliveryDto | null;
  @ApiProperty({ type: [CallbackAttemptDto] }) attempts!: CallbackAttemptDto[];
}

export class SigningSecretDto {
  @ApiProperty({ example: 'ws_8Hq2LmZx0PaR4tYc' }) workspaceId!: string;
  @ApiProperty({
    example: 'whsec_Zk3n0Qv8yJ2tB6sLrX1mW4pH9cD5fG7aE0uI2oK8qT4',
    description:
      'The new secret, shown this once. Callbacks are signed with it from now on: `Tensorify-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`',
  })
  secret!: string;
  @ApiProperty({ example: '2026-11-28T13:37:35.000Z' }) createdAt!: string;
}
