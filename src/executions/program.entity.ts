import { Column, Entity, PrimaryColumn } from 'typeorm';
import { JsonColumn, TimestampColumn } from '../database/columns';
import type { GeneratedFiles } from '../codegen/workflow-compiler';

/**
 * The files an execution runs, stored once and shared by every execution of them (the column
 * `executions.program_id`). Immutable: its id is a hash of the workspace and the files (see
 * `programId`), so a row never changes once written.
 */
@Entity({ name: 'programs' })
export class ProgramEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 }) id!: string;
  @Column({ name: 'workspace_id', type: 'varchar', length: 32 }) workspaceId!: string;
  /** The workflow version it was compiled from: the retention job keeps a workflow's current version's program. */
  @Column({ name: 'workflow_id', type: 'varchar', length: 32 }) workflowId!: string;
  @Column({ name: 'workflow_version', type: 'integer' }) workflowVersion!: number;
  @JsonColumn({ name: 'files' }) files!: GeneratedFiles;
  @TimestampColumn({ name: 'created_at' }) createdAt!: Date;
}
