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
import { isoTimestamp, jsonText } from '../database/columns';
import { pageAfter } from '../database/query-helpers';
import { rawQuery } from '../database/raw-query';
import { CACHE_NAMES, CACHE_TTL_MS, CacheRevisions } from '../database/cache-revisions.service';
import { jsonBytes } from '../common/json-bytes';
import { deepFreeze, ReadThroughCache } from '../common/read-through-cache';
import { GraphReport } from '../graph/graph-problem';
import { GraphValidator } from '../graph/graph-validator';
import type { WorkflowEdgeInput, WorkflowGraphInput, WorkflowNodeInput } from '../graph/graph.types';
import { InvalidWorkflowError } from '../graph/invalid-workflow.error';
import type { WorkflowListDto } from './dto/workflow.dto';
import { WorkflowEntity } from './workflow.entity';
import { type SaveOrigin, WorkflowLifecycle } from './workflow-lifecycle';

export interface WorkflowInput extends WorkflowGraphInput {
  name: string;
  description?: string;
  nodes: WorkflowNodeInput[];
  edges: WorkflowEdgeInput[];
}

/** A stored workflow, with what the lifecycle's listeners add to the response of that save. */
export interface SavedWorkflow {
  workflow: WorkflowEntity;
  extras: Record<string, unknown>;
}

export type WorkflowSummary = Pick<WorkflowEntity, 'id' | 'name' | 'createdAt' | 'updatedAt'>;

interface WorkflowRow {
  id: string;
  workspace_id: string;
  name: string;
  description: string;
  version: number;
  nodes: string;
  edges: string;
  created_at: string;
  updated_at: string;
}

/** A raw `workflows` row as the entity, through the entity's own column transformers. */
function fromRow(row: WorkflowRow): WorkflowEntity {
  return Object.assign(new WorkflowEntity(), {
    id: row.id,
    workspaceId: row.workspace_id,
    name: row.name,
    description: row.description,
    version: Number(row.version),
    nodes: jsonText.from(row.nodes),
    edges: jsonText.from(row.edges),
    createdAt: isoTimestamp.from(row.created_at),
    updatedAt: isoTimestamp.from(row.updated_at),
  });
}

/** The key of a page in the cache of pages. */
const pageKey = (workspaceId: string, limit: number, cursor: string | undefined) => `${workspaceId}\n${limit}\n${cursor ?? ''}`;

/** Memory the workflow cache may hold, counted as the length of the stored JSON. */
const CACHE_MAX_BYTES = 64 * 1024 * 1024;

/** Memory the cache of list pages may hold, counted as the length of their JSON. */
const PAGES_MAX_BYTES = 16 * 1024 * 1024;

/** Edges allowed per node of the configured node limit. */
const EDGES_PER_NODE = 4;

@Injectable()
export class WorkflowsService {
  constructor(
    @InjectRepository(WorkflowEntity) private readonly workflows: Repository<WorkflowEntity>,
    private readonly validator: GraphValidator,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revisions: CacheRevisions,
    private readonly lifecycle: WorkflowLifecycle,
  ) {
    revisions.onChange(CACHE_NAMES.workflows, () => {
      this.cache.clear();
      this.pages.clear();
    });
    revisions.onChange(CACHE_NAMES.workflowLists, () => this.pages.clear());
  }

  /** Workflows by id, up to CACHE_MAX_BYTES of their JSON; dropped on every change (see CacheRevisions). */
  private readonly cache = new ReadThroughCache<{ workflow: WorkflowEntity; bytes: number }>({
    maxEntries: 10_000,
    ttlMs: CACHE_TTL_MS,
    maxSize: CACHE_MAX_BYTES,
    sizeOf: (entry) => entry.bytes,
  });

  /**
   * Pages of workflow summaries as the JSON of the answer (UTF-8 bytes), by workspace, limit and
   * cursor, up to PAGES_MAX_BYTES: a repeated list is a lookup, with no query, no row hydration and
   * no serialisation. Dropped on every change to the workflows: a create moves `workflow-lists`, a
   * replace or delete `workflows` (which also drops the workflows themselves).
   */
  private readonly pages = new ReadThroughCache<Buffer>({ maxEntries: 10_000, ttlMs: CACHE_TTL_MS, maxSize: PAGES_MAX_BYTES, sizeOf: (json) => json.length });

  /** The validation report of a graph, stored or not. */
  validate(graph: WorkflowGraphInput): GraphReport {
    this.checkSize(graph);
    return this.validator.validate(graph);
  }

  async create(workspaceId: string, input: WorkflowInput, origin?: SaveOrigin): Promise<SavedWorkflow> {
    this.assertValid(input);
    const now = new Date(this.clock.now());
    const workflow = this.workflows.create({
      id: newId(ID_PREFIX.workflow),
      workspaceId,
      ...this.storedFields(input),
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    await this.revisions.write(CACHE_NAMES.workflowLists, () => this.workflows.insert(workflow as QueryDeepPartialEntity<WorkflowEntity>));
    return { workflow, extras: await this.lifecycle.saved(workflow, null, origin) };
  }

  async list(workspaceId: string, limit: number, cursor?: string): Promise<Page<WorkflowSummary>> {
    const query = this.workflows
      .createQueryBuilder('w')
      .select(['w.id', 'w.name', 'w.createdAt', 'w.updatedAt'])
      .where('w.workspaceId = :workspaceId', { workspaceId });
    return toPage(await pageAfter(query, 'w', limit, cursor).getMany(), limit);
  }

  /** A page of `list` as the JSON of GET /v1/workflows (WorkflowListDto), from the cache of pages when it holds it. */
  async listJson(workspaceId: string, limit: number, cursor?: string): Promise<Buffer> {
    const json = await this.pages.get(pageKey(workspaceId, limit, cursor), async () => {
      const page = await this.list(workspaceId, limit, cursor);
      const body: WorkflowListDto = {
        workflows: page.items.map((w) => ({ id: w.id, name: w.name, createdAt: w.createdAt.toISOString(), updatedAt: w.updatedAt.toISOString() })),
        nextCursor: page.nextCursor,
      };
      return jsonBytes(body);
    });
    return json!;
  }

  /**
   * The page `listJson` would answer, if the cache of pages holds it; undefined otherwise. For the
   * cached-read edge (hot-read.ts), which must not wait for a promise.
   */
  cachedPage(workspaceId: string, limit: number, cursor?: string): Buffer | undefined {
    return this.pages.peek(pageKey(workspaceId, limit, cursor));
  }

  /** A workflow of the workspace, from the cache when it holds it. The returned object is frozen. */
  async get(workspaceId: string, id: string): Promise<WorkflowEntity> {
    if (!looksLikeId(ID_PREFIX.workflow, id)) throw this.notFound(id);
    const cached = await this.cache.get(id, async () => {
      const [row] = await rawQuery<WorkflowRow>(
        this.workflows.manager.connection,
        'SELECT id, workspace_id, name, description, version, nodes, edges, created_at, updated_at FROM workflows WHERE id = :id',
        { id },
      );
      return row ? { workflow: deepFreeze(fromRow(row)), bytes: row.nodes.length + row.edges.length + row.description.length } : undefined;
    });
    if (!cached || cached.workflow.workspaceId !== workspaceId) throw this.notFound(id);
    return cached.workflow;
  }

  /**
   * The workflow as `get` would answer it, if the cache holds it and it is the workspace's;
   * undefined otherwise (not cached, another workspace's, or no such workflow: `get` says which).
   * For the cached read of GET /v1/workflows/:id (hot-read.ts), which must not wait for a promise.
   */
  cached(workspaceId: string, id: string): WorkflowEntity | undefined {
    const workflow = this.cache.peek(id)?.workflow;
    return workflow?.workspaceId === workspaceId ? workflow : undefined;
  }

  /**
   * Replaces a workflow's name, description and graph, and increments its version. With
   * `expectedVersion`, the write happens only if the stored version still equals it (409 otherwise),
   * checked and written in one statement.
   */
  async replace(workspaceId: string, id: string, input: WorkflowInput, expectedVersion?: number, origin?: SaveOrigin): Promise<SavedWorkflow> {
    const previous = await this.get(workspaceId, id);
    this.assertValid(input);
    const affected = await this.revisions.write(CACHE_NAMES.workflows, async () => {
      const update = this.workflows
        .createQueryBuilder()
        .update(WorkflowEntity)
        .set({ ...this.storedFields(input), version: () => 'version + 1', updatedAt: new Date(this.clock.now()) } as QueryDeepPartialEntity<WorkflowEntity>)
        .where('id = :id AND workspace_id = :workspaceId', { id, workspaceId });
      if (expectedVersion !== undefined) update.andWhere('version = :version', { version: expectedVersion });
      return (await update.execute()).affected;
    });
    if (!affected) {
      // Without a precondition, nothing matched only because the workflow was deleted meanwhile: get() answers 404.
      const latest = await this.get(workspaceId, id);
      throw new ConflictError(`Workflow ${id} is at version ${latest.version}, not ${expectedVersion}: fetch it again and reapply your change`, {
        currentVersion: latest.version,
        expectedVersion,
      });
    }
    const workflow = await this.get(workspaceId, id);
    return { workflow, extras: await this.lifecycle.saved(workflow, previous, origin) };
  }

  async delete(workspaceId: string, id: string): Promise<void> {
    const workflow = await this.get(workspaceId, id);
    const { affected } = await this.revisions.write(CACHE_NAMES.workflows, () => this.workflows.delete({ id, workspaceId }));
    if (!affected) throw this.notFound(id);
    await this.lifecycle.deleted(workflow);
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
