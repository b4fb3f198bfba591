import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { deepFreeze, ReadThroughCache } from '../common/read-through-cache';
import { CACHE_NAMES, CACHE_TTL_MS, CacheRevisions } from '../database/cache-revisions.service';
import { isUniqueViolation } from '../database/query-helpers';
import { rawQuery } from '../database/raw-query';
import type { Plan } from '../plans/plans';
import { HookEntity } from './hook.entity';

/** A hook with what a delivery needs of its workspace (its plan's limits). */
export interface DeliverableHook {
  id: string;
  workflowId: string;
  secret: string;
  workspace: { id: string; name: string; plan: Plan; rateLimitPerMinute: number | null };
}

interface DeliverableRow {
  id: string;
  workflow_id: string;
  secret: string;
  workspace_id: string;
  workspace_name: string;
  plan: Plan;
  rate_limit_per_minute: number | string | null;
}

/**
 * Every read and write of the `hooks` table. The hooks deliveries read are cached by id: every
 * write of the table goes through CacheRevisions (`hooks`), and so does every change of a
 * workspace (`auth`), whose plan a delivery counts against; this process drops the cache at once,
 * the other instances within CACHE_SYNC_INTERVAL_MS (so a rotated hook id may still be taken there
 * for up to a second, as a deleted workflow is by the workflows' cache).
 */
@Injectable()
export class HooksRepository {
  /** Hooks found by id (unknown ids are not kept: a scanner must not fill the cache). Frozen. */
  private readonly deliverable = new ReadThroughCache<DeliverableHook>({ maxEntries: 10_000, ttlMs: CACHE_TTL_MS });

  constructor(
    @InjectRepository(HookEntity) private readonly hooks: Repository<HookEntity>,
    private readonly revisions: CacheRevisions,
  ) {
    revisions.onChange(CACHE_NAMES.hooks, () => this.deliverable.clear());
    revisions.onChange(CACHE_NAMES.auth, () => this.deliverable.clear());
  }

  /** A hook by id with its workspace: from the cache, else in one plain statement (this is on every delivery's path). */
  async findDeliverable(id: string): Promise<DeliverableHook | null> {
    return (await this.deliverable.get(id, async () => deepFreeze((await this.readDeliverable(id)) ?? undefined))) ?? null;
  }

  private async readDeliverable(id: string): Promise<DeliverableHook | null> {
    const [row] = await rawQuery<DeliverableRow>(
      this.hooks.manager.connection,
      `SELECT h.id, h.workflow_id, h.secret, w.id AS workspace_id, w.name AS workspace_name, w.plan, w.rate_limit_per_minute
         FROM hooks h JOIN workspaces w ON w.id = h.workspace_id
        WHERE h.id = :id`,
      { id },
    );
    if (!row) return null;
    return {
      id: row.id,
      workflowId: row.workflow_id,
      secret: row.secret,
      workspace: {
        id: row.workspace_id,
        name: row.workspace_name,
        plan: row.plan,
        rateLimitPerMinute: row.rate_limit_per_minute === null ? null : Number(row.rate_limit_per_minute),
      },
    };
  }

  async findByWorkflow(workflowId: string): Promise<HookEntity | null> {
    return this.hooks.findOneBy({ workflowId });
  }

  /** Stores the workflow's hook unless it has one already (another save won the race): true when this one was stored. */
  async createUnlessExists(hook: HookEntity): Promise<boolean> {
    try {
      await this.revisions.write(CACHE_NAMES.hooks, () => this.hooks.insert(hook));
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  /** Gives the workflow's hook a new id and secret in one statement (the old id is gone at once); false when it has none. */
  async rotate(workflowId: string, id: string, secret: string): Promise<boolean> {
    const { affected } = await this.revisions.write(CACHE_NAMES.hooks, () => this.hooks.update({ workflowId }, { id, secret }));
    return Boolean(affected);
  }

  async deleteByWorkflow(workflowId: string): Promise<void> {
    // Every save of a workflow without a webhook trigger comes here: the counter moves only when a hook went.
    const { affected } = await this.hooks.delete({ workflowId });
    if (affected !== 0) await this.revisions.write(CACHE_NAMES.hooks, () => Promise.resolve());
  }
}
