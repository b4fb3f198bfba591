import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Clock, CLOCK } from '../common/clock';
import { ConflictError, ErrorCode, NotFoundError, ValidationError } from '../common/errors';
import { ID_PREFIX, looksLikeId, newId } from '../common/ids';
import { Page, toPage } from '../common/pagination';
import { APP_CONFIG } from '../config/config.module';
import type { AppConfig } from '../config/config';
import { CACHE_NAMES, CacheRevisions } from '../database/cache-revisions.service';
import { isUniqueViolation, pageAfter } from '../database/query-helpers';
import { Plan, rateLimitPerMinute, retentionDays } from '../plans/plans';
import { WorkspaceDto } from './dto/workspace.dto';
import { WorkspaceEntity } from './workspace.entity';

export interface WorkspaceChanges {
  name?: string;
  plan?: Plan;
  rateLimitPerMinute?: number | null;
  /** null: back to the plan's default. */
  retentionDays?: number | null;
}

@Injectable()
export class WorkspacesService {
  constructor(
    @InjectRepository(WorkspaceEntity) private readonly workspaces: Repository<WorkspaceEntity>,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly revisions: CacheRevisions,
  ) {}

  async create(input: { name: string; plan: Plan; rateLimitPerMinute?: number | null }): Promise<WorkspaceEntity> {
    this.checkOwnLimit(input.plan, input.rateLimitPerMinute);
    const now = new Date(this.clock.now());
    const workspace = this.workspaces.create({
      id: newId(ID_PREFIX.workspace),
      name: input.name,
      plan: input.plan,
      rateLimitPerMinute: input.rateLimitPerMinute ?? null,
      retentionDays: null,
      createdAt: now,
      updatedAt: now,
    });
    await this.uniqueName(workspace.name, () => this.workspaces.insert(workspace));
    return workspace;
  }

  async list(limit: number, cursor?: string): Promise<Page<WorkspaceEntity>> {
    const rows = await pageAfter(this.workspaces.createQueryBuilder('w'), 'w', limit, cursor).getMany();
    return toPage(rows, limit);
  }

  async get(id: string): Promise<WorkspaceEntity> {
    const workspace = looksLikeId(ID_PREFIX.workspace, id) ? await this.workspaces.findOneBy({ id }) : null;
    if (!workspace) throw new NotFoundError(ErrorCode.WORKSPACE_NOT_FOUND, `Workspace ${id} not found`);
    return workspace;
  }

  /** A workspace by id (`ws_…`) or by its unique name; for people typing at the CLI. */
  async getByIdOrName(idOrName: string): Promise<WorkspaceEntity> {
    if (looksLikeId(ID_PREFIX.workspace, idOrName)) return this.get(idOrName);
    const workspace = await this.workspaces.findOneBy({ name: idOrName });
    if (!workspace) throw new NotFoundError(ErrorCode.WORKSPACE_NOT_FOUND, `Workspace "${idOrName}" not found`);
    return workspace;
  }

  async update(id: string, changes: WorkspaceChanges): Promise<WorkspaceEntity> {
    const workspace = await this.get(id);
    const plan = changes.plan ?? workspace.plan;
    const ownLimit = 'rateLimitPerMinute' in changes ? changes.rateLimitPerMinute : plan === 'enterprise' ? workspace.rateLimitPerMinute : null;
    this.checkOwnLimit(plan, ownLimit);
    const changed = {
      name: changes.name ?? workspace.name,
      plan,
      rateLimitPerMinute: ownLimit ?? null,
      retentionDays: changes.retentionDays !== undefined ? changes.retentionDays : workspace.retentionDays,
      updatedAt: new Date(this.clock.now()),
    };
    // API keys are cached with their workspace's plan and limit: the change must reach them at once.
    await this.revisions.write(CACHE_NAMES.auth, () => this.uniqueName(changed.name, () => this.workspaces.update({ id }, changed)));
    return Object.assign(workspace, changed);
  }

  async count(): Promise<number> {
    return this.workspaces.count();
  }

  toDto(workspace: WorkspaceEntity): WorkspaceDto {
    return {
      id: workspace.id,
      name: workspace.name,
      plan: workspace.plan,
      rateLimitPerMinute: rateLimitPerMinute(workspace, this.config.enterpriseRateLimitPerMinute),
      retentionDays: retentionDays(workspace),
      retentionDaysOverridden: workspace.retentionDays !== null,
      createdAt: workspace.createdAt.toISOString(),
      updatedAt: workspace.updatedAt.toISOString(),
    };
  }

  private checkOwnLimit(plan: Plan, limit: number | null | undefined): void {
    if (limit !== undefined && limit !== null && plan !== 'enterprise') {
      throw new ValidationError(`Only enterprise workspaces have a rate limit of their own; the ${plan} plan allows a fixed number`, {
        rateLimitPerMinute: ['may only be set when plan is "enterprise"'],
      });
    }
  }

  /** Runs a write that may collide with another workspace's name, as 409 CONFLICT if it does. */
  private async uniqueName(name: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (isUniqueViolation(error)) throw new ConflictError(`A workspace named "${name}" already exists`, { field: 'name' });
      throw error;
    }
  }
}
