import { Column, Entity, PrimaryColumn } from 'typeorm';
import { JsonColumn, TimestampColumn } from '../database/columns';

export const MISSED_POLICIES = ['skip', 'run-once'] as const;
export type MissedPolicy = (typeof MISSED_POLICIES)[number];

/** The schedule of a workflow whose trigger is a `schedule` node: its settings, and where it stands. */
@Entity({ name: 'schedules' })
export class ScheduleEntity {
  @PrimaryColumn({ name: 'workflow_id', type: 'varchar', length: 32 })
  workflowId!: string;

  @Column({ name: 'workspace_id', type: 'varchar', length: 32 })
  workspaceId!: string;

  @Column({ type: 'varchar', length: 200 })
  cron!: string;

  @Column({ type: 'varchar', length: 64 })
  timezone!: string;

  @JsonColumn({ name: 'inputs' })
  inputs!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 16 })
  missed!: MissedPolicy;

  @Column({ type: 'boolean', default: false })
  paused!: boolean;

  /** The next fire time nobody has handled yet; null when the cron never fires again. */
  @TimestampColumn({ name: 'next_fire_at', nullable: true })
  nextFireAt!: Date | null;

  /** The fire time of the last execution the schedule started. */
  @TimestampColumn({ name: 'last_run_at', nullable: true })
  lastRunAt!: Date | null;

  @Column({ name: 'last_execution_id', type: 'varchar', length: 32, nullable: true })
  lastExecutionId!: string | null;

  @TimestampColumn({ name: 'created_at' })
  createdAt!: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
