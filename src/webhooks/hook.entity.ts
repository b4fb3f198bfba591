import { Column, Entity, PrimaryColumn } from 'typeorm';
import { TimestampColumn } from '../database/columns';

/** The hook of a webhook-triggered workflow (at most one per workflow); its settings live in the workflow's trigger node. */
@Entity({ name: 'hooks' })
export class HookEntity {
  /** `hk_…`: the public `/v1/hooks/:hookId`; a rotation gives the hook a new one. */
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ name: 'workspace_id', type: 'varchar', length: 32 })
  workspaceId!: string;

  @Column({ name: 'workflow_id', type: 'varchar', length: 32 })
  workflowId!: string;

  /** The `whsec_…` secret, sealed by SecretBox (AES-256-GCM, bound to the hook id). */
  @Column({ type: 'text' })
  secret!: string;

  @TimestampColumn({ name: 'created_at' })
  createdAt!: Date;
}
