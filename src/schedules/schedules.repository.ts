import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { CACHE_NAMES, CacheRevisions } from '../database/cache-revisions.service';
import { ScheduleEntity } from './schedule.entity';

/** At most this many due schedules are handled per pass; the rest follow at once in the next one. */
const DUE_BATCH = 100;

/**
 * The `schedules` table. A change of what or when a schedule fires (store, remove, pause) moves
 * the `schedules` cache revision, so every process re-arms its timer within a second; moving
 * `next_fire_at` on after a fire does not need to (whoever was armed for that time finds it taken).
 */
@Injectable()
export class SchedulesRepository {
  constructor(
    @InjectRepository(ScheduleEntity) private readonly schedules: Repository<ScheduleEntity>,
    private readonly revisions: CacheRevisions,
  ) {}

  find(workflowId: string): Promise<ScheduleEntity | null> {
    return this.schedules.findOneBy({ workflowId });
  }

  /** Inserts the workflow's schedule, or replaces every field of the one it has (one statement: two saves at once cannot both insert). */
  async store(schedule: ScheduleEntity): Promise<void> {
    await this.revisions.write(CACHE_NAMES.schedules, () => this.schedules.upsert(schedule as QueryDeepPartialEntity<ScheduleEntity>, ['workflowId']));
  }

  async remove(workflowId: string): Promise<void> {
    await this.revisions.write(CACHE_NAMES.schedules, () => this.schedules.delete({ workflowId }));
  }

  /** Pauses or resumes; resuming sets the next fire time (the ones that passed while paused are not run). */
  async setPaused(workflowId: string, paused: boolean, nextFireAt: Date | null | undefined, now: Date): Promise<void> {
    const changes: QueryDeepPartialEntity<ScheduleEntity> = { paused, updatedAt: now };
    if (nextFireAt !== undefined) changes.nextFireAt = nextFireAt;
    await this.revisions.write(CACHE_NAMES.schedules, () => this.schedules.update({ workflowId }, changes));
  }

  /** The earliest fire time of an active schedule, or null when none will fire. */
  async earliestFireTime(): Promise<Date | null> {
    const row = await this.active().select('MIN(s.next_fire_at)', 'earliest').getRawOne<{ earliest: string | null }>();
    return row?.earliest ? new Date(row.earliest) : null;
  }

  /** Active schedules whose next fire time is at or before `now`, earliest first. */
  due(now: Date): Promise<ScheduleEntity[]> {
    return this.active().andWhere('s.next_fire_at <= :now', { now: now.toISOString() }).orderBy('s.next_fire_at', 'ASC').limit(DUE_BATCH).getMany();
  }

  /**
   * Moves a schedule's next fire time from `from` to `to`, if nobody did it first and it is not
   * paused meanwhile: one statement, so of all the processes handling the same fire time exactly one wins.
   */
  async advance(workflowId: string, from: Date, to: Date | null, now: Date): Promise<boolean> {
    const result = await this.schedules
      .createQueryBuilder()
      .update(ScheduleEntity)
      .set({ nextFireAt: to, updatedAt: now })
      .where('workflow_id = :workflowId AND next_fire_at = :from AND paused = :paused', { workflowId, from: from.toISOString(), paused: false })
      .execute();
    return result.affected === 1;
  }

  /** Records a run started for `fireTime`, unless a later fire time's run was recorded already. */
  async recordRun(workflowId: string, fireTime: Date, executionId: string): Promise<void> {
    await this.schedules
      .createQueryBuilder()
      .update(ScheduleEntity)
      .set({ lastRunAt: fireTime, lastExecutionId: executionId })
      .where('workflow_id = :workflowId AND (last_run_at IS NULL OR last_run_at <= :fireTime)', { workflowId, fireTime: fireTime.toISOString() })
      .execute();
  }

  private active() {
    return this.schedules.createQueryBuilder('s').where('s.paused = :paused AND s.next_fire_at IS NOT NULL', { paused: false });
  }
}
