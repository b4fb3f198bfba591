import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { Clock, CLOCK } from '../common/clock';
import { ConflictError, ErrorCode, NotFoundError, ValidationError } from '../common/errors';
import { ID_PREFIX, looksLikeId, newId } from '../common/ids';
import { Page, toPage } from '../common/pagination';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { pageAfter } from '../database/query-helpers';
import { GraphReport } from './graph/graph-problem';
import { GraphValidator } from './graph/graph-validator';
import type { WorkflowEdgeInput, WorkflowGraphInput, WorkflowNodeInput } from './graph/graph.types';
import { InvalidWorkflowError } from './invalid-workflow.error';
import { WorkflowEntity } from './workflow.entity';

export interface WorkflowInput extends WorkflowGraphInput {
  name: string;
  description?: string;
  nodes: WorkflowNodeInput[];
  edges: WorkflowEdgeInput[];
}

export type WorkflowSummary = Pick<WorkflowEntity, 'id' | 'name' | 'createdAt' | 'updatedAt'>;

/** Edges allowed per node of the configured node limit. */
const EDGES_PER_NODE = 4;

@Injectable()
export class WorkflowsService {
  constructor(
    @InjectRepository(WorkflowEntity) private readonly workflows: Repository<WorkflowEntity>,
    private readonly validator: GraphValidator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The validation report of a graph, stored or not. */
  validate(graph: WorkflowGraphInput): GraphReport {
    this.checkSize(graph);
    return this.validator.validate(graph);
  }

  async create(workspaceId: string, input: WorkflowInput): Promise<WorkflowEntity> {
    this.assertValid(input);
    const now = new Date(this.clock.now());
    return this.workflows.save(
      this.workflows.create({
        id: newId(ID_PREFIX.workflow),
        workspaceId,
        ...this.storedFields(input),
        version: 1,
        createdAt: now,
        updatedAt: now,
      }),
    );
  }

  async list(workspaceId: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    const query = this.workflows
      .createQueryBuilder('w')
      .select(['w.id', 'w.name', 'w.createdAt', 'w.updatedAt'])
      .where('w.workspaceId = :workspaceId', { workspaceId });
    return toPage(await pageAfter(query, 'w', limit, cursor).getMany(), limit);
  }

  async get(workspaceId: string, id: string): Promise<WorkflowEntity> {
    const workflow = looksLikeId(ID_PREFIX.workflow, id) ? await this.workflows.findOneBy({ id, workspaceId }) : null;
    if (!workflow) throw this.notFound(id);
    return workflow;
  }

  /**
   * Replaces a workflow's name, description and graph, and increments its version. With
   * `expectedVersion`, the write happens only if the stored version still equals it (409 otherwise),
   * checked and written in one statement.
   */
  async replace(workspaceId: string, id: string, input: WorkflowInput, expectedVersion?: number): Promise<WorkflowEntity> {
    await this.get(workspaceId, id);
    this.assertValid(input);
    const update = this.workflows
      .createQueryBuilder()
      .update(WorkflowEntity)
      .set({ ...this.storedFields(input), version: () => 'version + 1', updatedAt: new Date(this.clock.now()) } as QueryDeepPartialEntity<WorkflowEntity>)
      .where('id = :id AND workspace_id = :workspaceId', { id, workspaceId });
    if (expectedVersion !== undefined) update.andWhere('version = :version', { version: expectedVersion });
    const result = await update.execute();
    if (!result.affected) {
      // Without a precondition, nothing matched only because the workflow was deleted meanwhile: get() answers 404.
      const latest = await this.get(workspaceId, id);
      throw new ConflictError(
        `Workflow ${id} is at version ${latest.version}, not ${expectedVersion}: fetch it again and reapply your change`,
        { currentVersion: latest.version, expectedVersion },
      );
    }
    return this.get(workspaceId, id);
  }

  async delete(workspaceId: string, id: string): Promise<void> {
    const result = looksLikeId(ID_PREFIX.workflow, id) ? await this.workflows.delete({ id, workspaceId }) : { affected: 0 };
    if (!result.affected) throw this.notFound(id);
  }

  private assertValid(input: WorkflowGraphInput): void {
    const report = this.validate(input);
    if (!report.valid) throw new InvalidWorkflowError(report);
  }

  private checkSize(graph: WorkflowGraphInput): void {
    const maxNodes = this.config.maxWorkflowNodes;
    const maxEdges = maxNodes * EDGES_PER_NODE;
    const fields: Record<string, string[]> = {};
    if (graph.nodes.length > maxNodes) fields.nodes = [`must have at most ${maxNodes} nodes (has ${graph.nodes.length})`];
    if (graph.edges.length > maxEdges) fields.edges = [`must have at most ${maxEdges} edges (has ${graph.edges.length})`];
    if (Object.keys(fields).length > 0) {
      throw new ValidationError(`The workflow is too large: ${Object.values(fields).flat().join('; ')}`, fields);
    }
  }

  private storedFields(input: WorkflowInput) {
    return {
      name: input.name,
      description: input.description ?? '',
      nodes: input.nodes.map((node) => ({ ...node, settings: node.settings ?? {} })),
      edges: input.edges.map((edge) => ({ ...edge })),
    };
  }

  private notFound(id: string): NotFoundError {
    return new NotFoundError(ErrorCode.WORKFLOW_NOT_FOUND, `Workflow ${id} not found`);
  }
}
