import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { Clock, CLOCK } from '../common/clock';
import { ErrorCode, NotFoundError } from '../common/errors';
import { type CronSchedule, parseCronSchedule, SCHEDULE_NODE_TYPE } from '../graph/cron-schedule';
import { NodeCatalog } from '../nodes/node-catalog';
import type { WorkflowEntity } from '../workflows/workflow.entity';
import { WorkflowLifecycle } from '../workflows/workflow-lifecycle';
import { WorkflowsService } from '../workflows/workflows.service';
import { type MissedPolicy, ScheduleEntity } from './schedule.entity';
import { SchedulesRepository } from './schedules.repository';

/** How many upcoming fire times `GET /v1/workflows/:id/schedule` lists. */
export const NEXT_RUNS_SHOWN = 5;

/** A schedule as the API shows it. */
export interface ScheduleView {
  cron: string;
  timezone: string;
  paused: boolean;
  /** The next fire times (ISO-8601, UTC); empty while paused or when the cron never fires again. */
  nextRuns: string[];
  /** The fire time of the last run the schedule started. */
  lastRunAt: string | null;
  lastExecutionId: string | null;
}

interface ScheduleSettings {
  cron: string;
  timezone: string;
  inputs: Record<string, unknown>;
  missed: MissedPolicy;
}

/** The parsed cron of a stored schedule. Saving refused any other, so a failure here is a bug, not input. */
export function cronOf(schedule: Pick<ScheduleEntity, 'cron' | 'timezone'>): CronSchedule {
  const parsed = parseCronSchedule(schedule.cron, schedule.timezone);
  if ('problems' in parsed) throw new Error(`Stored schedule does not parse: ${parsed.problems.map((problem) => problem.message).join(' ')}`);
  return parsed.schedule;
}

/**
 * Keeps `schedules` in step with the workflows (a row per workflow whose trigger is a `schedule`
 * node, updated on every save, removed when the trigger changes or the workflow goes), and serves
 * the schedule API. The Scheduler fires them.
 */
@Injectable()
export class SchedulesService implements OnModuleInit {
  constructor(
    private readonly schedules: SchedulesRepository,
    private readonly workflows: WorkflowsService,
    private readonly lifecycle: WorkflowLifecycle,
    private readonly catalog: NodeCatalog,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    this.lifecycle.register({
      saved: async (workflow) => {
        await this.sync(workflow);
        return undefined;
      },
      deleted: (workflow) => this.schedules.remove(workflow.id),
    });
  }

  /**
   * Stores the schedule of a saved workflow, or removes it when its trigger is no longer a schedule.
   * A changed cron or time zone fires next at its own next time; otherwise the next fire time
   * stays. Paused stays paused across edits.
   */
  async sync(workflow: WorkflowEntity): Promise<void> {
    const settings = this.scheduleSettings(workflow);
    const existing = await this.schedules.find(workflow.id);
    if (settings === undefined) {
      if (existing) await this.schedules.remove(workflow.id);
      return;
    }
    const now = new Date(this.clock.now());
    const retimed = !existing || existing.cron !== settings.cron || existing.timezone !== settings.timezone;
    const next = retimed ? cronOf(settings).nextAfter(now.getTime()) : undefined;
    await this.schedules.store(
      Object.assign(existing ?? new ScheduleEntity(), {
        workflowId: workflow.id,
        workspaceId: workflow.workspaceId,
        ...settings,
        paused: existing?.paused ?? false,
        nextFireAt: next === undefined ? existing!.nextFireAt : next === null ? null : new Date(next),
        lastRunAt: existing?.lastRunAt ?? null,
        lastExecutionId: existing?.lastExecutionId ?? null,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      }),
    );
  }

  async get(workspaceId: string, workflowId: string): Promise<ScheduleView> {
    return this.view(await this.find(workspaceId, workflowId));
  }

  /** Pauses or resumes. A resumed schedule fires next at the first fire time after now: the ones it slept through are not run. */
  async setPaused(workspaceId: string, workflowId: string, paused: boolean): Promise<ScheduleView> {
    const schedule = await this.find(workspaceId, workflowId);
    if (schedule.paused !== paused) {
      const now = this.clock.now();
      const next = paused ? undefined : cronOf(schedule).nextAfter(now);
      await this.schedules.setPaused(workflowId, paused, next === undefined ? undefined : next === null ? null : new Date(next), new Date(now));
    }
    return this.get(workspaceId, workflowId);
  }

  private async find(workspaceId: string, workflowId: string): Promise<ScheduleEntity> {
    const workflow = await this.workflows.get(workspaceId, workflowId);
    const schedule = await this.schedules.find(workflow.id);
    if (!schedule) {
      const trigger = workflow.nodes.find((node) => this.catalog.resolve(node.type)?.trigger)?.type ?? 'none';
      throw new NotFoundError(
        ErrorCode.SCHEDULE_NOT_FOUND,
        `Workflow ${workflowId} has no schedule: its trigger is "${trigger}", not "${SCHEDULE_NODE_TYPE}". Replace the trigger with a schedule node to give it one.`,
      );
    }
    return schedule;
  }

  private view(schedule: ScheduleEntity): ScheduleView {
    const first = schedule.paused ? null : schedule.nextFireAt;
    const nextRuns = first === null ? [] : [first.getTime(), ...cronOf(schedule).nextRuns(first.getTime(), NEXT_RUNS_SHOWN - 1)];
    return {
      cron: schedule.cron,
      timezone: schedule.timezone,
      paused: schedule.paused,
      nextRuns: nextRuns.map((time) => new Date(time).toISOString()),
      lastRunAt: schedule.lastRunAt?.toISOString() ?? null,
      lastExecutionId: schedule.lastExecutionId,
    };
  }

  /** The settings of the workflow's schedule trigger, defaults filled in; undefined when its trigger is another type. */
  private scheduleSettings(workflow: WorkflowEntity): ScheduleSettings | undefined {
    for (const node of workflow.nodes) {
      const definition = this.catalog.resolve(node.type);
      if (definition?.type === SCHEDULE_NODE_TYPE) return { ...definition.defaults, ...node.settings } as unknown as ScheduleSettings;
    }
    return undefined;
  }
}
