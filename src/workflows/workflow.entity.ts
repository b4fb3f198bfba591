import { Column, Entity, PrimaryColumn } from 'typeorm';
import { JsonColumn, TimestampColumn } from '../database/columns';
import type { WorkflowEdgeInput, WorkflowNodeInput } from '../graph/graph.types';

@Entity({ name: 'workflows' })
export class WorkflowEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  @Column({ name: 'workspace_id', type: 'varchar', length: 32 })
  workspaceId!: string;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'integer' })
  version!: number;

  @JsonColumn({ name: 'nodes' })
  nodes!: WorkflowNodeInput[];

  @JsonColumn({ name: 'edges' })
  edges!: WorkflowEdgeInput[];

  @TimestampColumn({ name: 'created_at' })
  createdAt!: Date;

  @TimestampColumn({ name: 'updated_at' })
  updatedAt!: Date;
}
