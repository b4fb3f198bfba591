import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { isForeignKeyViolation } from '../database/query-helpers';
import { rawQuery } from '../database/raw-query';
import { TERMINAL_STATUSES } from './execution.entity';
import { ProgramsRepository } from './programs.repository';

/**
 * The tables whose rows belong to one execution (`<column>` = the execution's id), other than
 * `execution_logs`: deleted before the execution's row, a few rows per execution. A feature that
 * adds such a table (attempts, callback outbox) adds it here; an ON DELETE CASCADE foreign key on
 * it works as well (SQLite runs with foreign_keys on), this list only keeps each statement small.
 */
export const EXECUTION_CHILD_TABLES: readonly { table: string; column: string }[] = [
  { table: 'execution_attempts', column: 'execution_id' },
  // The callbacks module's (a layer above): the attempts first, then the delivery they belong to.
  { table: 'callback_attempts', column: 'execution_id' },
  { table: 'callback_deliveries', column: 'execution_id' },
];

/** What one `purgePrograms` call removed. */
export interface ProgramPurgeResult {
  programs: number;
  longestStatementMs: number;
}

/** What one `purge` call removed. */
export interface PurgeResult {
  executions: number;
  logLines: number;
  /** The longest any one statement took, in ms: what the retention job sizes its batches by. */
  longestStatementMs: number;
}

const TERMINAL = [...TERMINAL_STATUSES];

/**
 * Deletes finished executions with their log lines and child rows, in statements small enough that
 * none holds the database for long: log lines go `logChunk` at a time by their primary key
 * (execution_id, seq), then the child tables' rows, then the execution rows themselves (rows from
 * before programs hold their files) — each a statement of its own, autocommitted, so another request
 * waits for at most one of them. An execution that is not finished (or no longer exists) is left
 * alone: the last DELETE checks the status again, so one that was re-queued meanwhile survives.
 * The programs those executions ran go later, once no execution uses them (`purgePrograms`).
 */
@Injectable()
export class ExecutionPurge {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly programs: ProgramsRepository,
  ) {}

  /**
   * Deletes up to `limit` of the workspace's programs that no execution uses and that are not the
   * current version of their workflow (which the next execution would store again), in one
   * statement that checks both again. Through `idx_programs_workspace` and `idx_executions_program`.
   * A program that a new execution takes meanwhile stays: on PostgreSQL the foreign key fails this
   * DELETE (nothing deleted, the next pass tries again); a process that still thought it stored
   * finds out by the same key on its INSERT and stores it again.
   */
  async purgePrograms(workspaceId: string, limit: number): Promise<ProgramPurgeResult> {
    const timing = { longest: 0 };
    const unused = `NOT EXISTS (SELECT 1 FROM executions e WHERE e.program_id = p.id)
      AND NOT EXISTS (SELECT 1 FROM workflows w WHERE w.id = p.workflow_id AND w.version = p.workflow_version)`;
    const rows = await this.timed(timing, () =>
      rawQuery<{ id: string }>(this.dataSource, `SELECT p.id FROM programs p WHERE p.workspace_id = :workspaceId AND ${unused} LIMIT ${limit}`, {
        workspaceId,
      }),
    );
    if (rows.length === 0) return { programs: 0, longestStatementMs: timing.longest };
    const ids = rows.map((row) => row.id);
    this.programs.forget(ids);
    try {
      const programs = await this.affected(timing, `DELETE FROM programs AS p WHERE p.id IN (:...ids) AND ${unused}`, { ids });
      return { programs, longestStatementMs: timing.longest };
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      return { programs: 0, longestStatementMs: timing.longest };
    }
  }

  async purge(ids: readonly string[], logChunk = 2000): Promise<PurgeResult> {
    const timing = { longest: 0 };
    const timed = <T>(statement: () => Promise<T>) => this.timed(timing, statement);
    if (ids.length === 0) return { executions: 0, logLines: 0, longestStatementMs: 0 };
    const finished = await timed(() =>
      rawQuery<{ id: string; log_count: number }>(this.dataSource, 'SELECT id, log_count FROM executions WHERE id IN (:...ids) AND status IN (:...terminal)', {
        ids,
        terminal: TERMINAL,
      }),
    );
    let logLines = 0;
    // Executions that logged little share a statement, up to `logChunk` lines by their counts (the
    // final DELETE's ON DELETE CASCADE catches any line a count missed).
    let group: string[] = [];
    let groupLines = 0;
    const flush = async () => {
      if (group.length > 0) logLines += await this.affected(timing, 'DELETE FROM execution_logs WHERE execution_id IN (:...ids)', { ids: group });
      group = [];
      groupLines = 0;
    };
    for (const { id, log_count: count } of finished) {
      const lines = Number(count);
      if (lines <= logChunk) {
        if (groupLines + lines > logChunk) await flush();
        group.push(id);
        groupLines += lines;
        continue;
      }
      // A long log goes by seq ranges on the primary key: each statement deletes at most `logChunk` lines.
      for (;;) {
        const [max] = await timed(() =>
          rawQuery<{ seq: number | null }>(this.dataSource, 'SELECT MAX(seq) AS seq FROM execution_logs WHERE execution_id = :id', { id }),
        );
        if (max?.seq === null || max?.seq === undefined) break;
        const from = Number(max.seq) - logChunk;
        logLines += await this.affected(timing, 'DELETE FROM execution_logs WHERE execution_id = :id AND seq > :from', { id, from });
      }
    }
    await flush();
    const finishedIds = finished.map((row) => row.id);
    if (finishedIds.length === 0) return { executions: 0, logLines, longestStatementMs: timing.longest };
    for (const { table, column } of EXECUTION_CHILD_TABLES) {
      await this.affected(timing, `DELETE FROM ${table} WHERE ${column} IN (:...ids)`, { ids: finishedIds });
    }
    const executions = await this.affected(timing, 'DELETE FROM executions WHERE id IN (:...ids) AND status IN (:...terminal)', {
      ids: finishedIds,
      terminal: TERMINAL,
    });
    return { executions, logLines, longestStatementMs: timing.longest };
  }

  private async timed<T>(timing: { longest: number }, statement: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await statement();
    } finally {
      timing.longest = Math.max(timing.longest, performance.now() - start);
    }
  }

  /** Rows a DELETE removed, on either driver. */
  private async affected(timing: { longest: number }, sql: string, parameters: Record<string, unknown>): Promise<number> {
    const [statement, values] = this.dataSource.driver.escapeQueryWithParameters(sql, parameters, {});
    const runner = this.dataSource.createQueryRunner();
    try {
      const result = await this.timed(timing, () => runner.query(statement, values, true) as Promise<{ affected?: number }>);
      return Number(result.affected ?? 0);
    } finally {
      await runner.release();
    }
  }
}
