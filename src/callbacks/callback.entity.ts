import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../database/columns';

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The outbox: one row per execution with a `callbackUrl`, inserted by a database trigger in the statement that ends it. */
@Entity({ name: 'callback_deliveries' })
export class CallbackDeliveryEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 32 }) executionId!: string;
  @Column({ name: 'workspace_id', type: 'varchar', length: 32 }) workspaceId!: string;
  @Column({ type: 'varchar', length: 2048 }) url!: string;
  @Column({ type: 'varchar', length: 16 }) status!: DeliveryStatus;
  @Column({ type: 'integer', default: 0 }) attempts!: number;
  @TimestampColumn({ name: 'created_at' }) createdAt!: Date;
  @TimestampColumn({ name: 'next_attempt_at' }) nextAttemptAt!: Date;
  /** A process sending it holds it until then; past it, any process may take it again. */
  @TimestampColumn({ name: 'lease_until', nullable: true }) leaseUntil!: Date | null;
  @TimestampColumn({ name: 'completed_at', nullable: true }) completedAt!: Date | null;
}

export const ATTEMPT_OUTCOMES = ['delivered', 'failed'] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

@Entity({ name: 'callback_attempts' })
export class CallbackAttemptEntity {
  @PrimaryColumn({ name: 'execution_id', type: 'varchar', length: 32 }) executionId!: string;
  @PrimaryColumn({ type: 'integer' }) attempt!: number;
  @TimestampColumn({ name: 'started_at' }) startedAt!: Date;
  @Column({ name: 'duration_ms', type: 'integer' }) durationMs!: number;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode!: number | null;
  @Column({ type: 'text', nullable: true }) error!: string | null;
  @Column({ type: 'varchar', length: 16 }) outcome!: AttemptOutcome;
}

/** A workspace's signing secret, sealed by SecretBox (bound to the workspace id). */
@Entity({ name: 'workspace_signing_secrets' })
export class SigningSecretEntity {
  @PrimaryColumn({ name: 'workspace_id', type: 'varchar', length: 32 }) workspaceId!: string;
  @Column({ type: 'text' }) secret!: string;
  @TimestampColumn({ name: 'created_at' }) createdAt!: Date;
}
