import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { LogStream } from '@tensorify/executor-sdk';
import { Repository, type SelectQueryBuilder, type UpdateQueryBuilder } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { isForeignKeyViolation, isUniqueViolation, pageAfter } from '../database/query-helpers';
import { runKeptStatement } from '../database/sqlite-statements';
import type { GeneratedFiles } from '../codegen/workflow-compiler';
import type { Plan } from '../plans/plans';
import { WorkspaceEntity } from '../workspaces/workspace.entity';
import { DEFAULT_RETRY, ExecutionAttemptEntity, type ExecutionErrorCode, ExecutionEntity, ExecutionLogEntity, type ExecutionStatus } from './execution.entity';
import type { TriggerType } from './execution-trigger';
import { ProgramsRepository } from './programs.repository';

/** An execution without the files it ran (the bulk of a row, or its program's): what reads that do not serve them return. */
export type ExecutionRecord = Omit<ExecutionEntity, 'files'>;

/** An execution with the files it runs, from its program or (rows from before programs) its own column. */
export type ExecutionToRun = ExecutionRecord & { files: GeneratedFiles };

/** What a new execution is made of; it starts `queued`, with nothing run yet. Its files are stored as its program. */
export type NewExecution = Pick<
  ExecutionEntity,
  | 'id'
  | 'workspaceId'
  | 'workflowId'
  | 'workflowVersion'
  | 'executor'
  | 'gpu'
  | 'inputs'
  | 'timeoutSeconds'
  | 'idempotencyKey'
  | 'requestHash'
  | 'createdAt'
  | 'triggerType'
  | 'trigger'
> &
  Partial<Pick<ExecutionEntity, 'callbackUrl' | 'maxAttempts' | 'retryBackoffSeconds' | 'retryOn'>> & { files: GeneratedFiles };

export interface ExecutionFilter {
  workflowId?: string;
  status?: ExecutionStatus;
  trigger?: TriggerType;
}

/** A `queued` execution with its workspace's plan: what the queue needs to schedule it. */
export interface QueuedRow {
  executionId: string;
  workspaceId: string;
  plan: Plan;
  attempt: number;
  /** When it waits for its next attempt: when that one may start. */
  nextAttemptAt: Date | null;
}

/** How an attempt ended that another one follows, as `retry` stores it. */
export interface AttemptEnd {
  /** The attempt that ended (the row must still be at it). */
  attempt: number;
  status: 'failed' | 'timed_out';
  errorCode: ExecutionErrorCode | null;
  errorMessage: string | null;
  startedAt: Date | null;
  completedAt: Date;
  nextAttemptAt: Date;
  logCount?: number;
}

/** The final state of an execution, as `finish` stores it. */
export interface ExecutionEnd {
  status: Exclude<ExecutionStatus, 'queued' | 'running'>;
  completedAt: Date;
  exitCode: number | null;
  output: unknown;
  errorCode: ExecutionErrorCode | null;
  errorMessage: string | null;
  /** Stored when given (a run that logged); otherwise the row keeps its count. */
  logCount?: number;
  /** Stored when given; otherwise the row keeps the one `setExternalId` stored. */
  externalId?: string;
}

export interface FinishCondition {
  /** Only while the execution is in one of these statuses. */
  from: readonly ExecutionStatus[];
  /** Only if its worker has not stamped it since (nor started it, when it never stamped). */
  staleBefore?: Date;
  /** Only while it is at this attempt (a run that ended late must not end the next attempt). */
  attempt?: number;
  /**
   * true: only while a worker holds it (`running`, or `queued` and taken by an executor that
   * reports its start: its heartbeat is set); false: only while no worker holds it.
   */
  held?: boolean;
}

/** A run a worker held (see {@link ExecutionsRepository.take}), as recovery needs it. */
export interface HeldRun {
  id: string;
  executor: string | null;
  externalId: string | null;
}

export type StoredLogLine = Pick<ExecutionLogEntity, 'seq' | 'stream' | 'line'>;

/** A row a worker holds: `running`, or `queued` and taken by an executor that reports its start (stamped). */
const HELD = "(e.status = 'running' OR (e.status = 'queued' AND e.heartbeatAt IS NOT NULL))";
/** {@link HELD} in an UPDATE, which has no alias. */
const HELD_UNALIASED = "(status = 'running' OR (status = 'queued' AND heartbeatAt IS NOT NULL))";

/** Log lines per INSERT: well under SQLite's 999 bound parameters (4 a line). */
const LOG_LINES_PER_INSERT = 200;

/** What every new execution starts as: `queued`, nothing run yet, its files in its program. */
const NEW_ROW = {
  status: 'queued',
  output: null,
  exitCode: null,
  errorCode: null,
  errorMessage: null,
  externalId: null,
  logCount: 0,
  startedAt: null,
  completedAt: null,
  cancelRequestedAt: null,
  heartbeatAt: null,
  attempt: 1,
  nextAttemptAt: null,
  files: null,
} as const satisfies Partial<ExecutionEntity>;

/** What each new execution has of its own: never shared by the rows of a batch (see `insert`), so not looked for. */
const OWN_OF_EACH_ROW = new Set<string>(['id', 'inputs', 'idempotencyKey', 'requestHash', 'createdAt'] satisfies (keyof ExecutionEntity)[]);

/** How `insert` writes a column of a new row: the same SQL literal for every row (a NEW_ROW field), or the row's value. */
type NewRowColumn = { literal: string } | { column: ColumnMetadata };

/** Executions per INSERT (`createMany`): 33 columns a row, under SQLite's historical bound of 999 parameters. */
export const MAX_ROWS_PER_INSERT = 30;

/**
 * Every read and write of the `executions` and `execution_logs` tables, on SQLite and PostgreSQL
 * alike: TypeORM's query builder over the entities' property names (`e.startedAt` in a SELECT,
 * bare `startedAt` in an UPDATE, which has no alias), so the column names and the values'
 * transformers (ISO timestamps, JSON text) stay the entities' business. A condition's timestamp
 * parameter is given as the ISO text the column holds. A status change names the status
 * it leaves, so that of two processes racing for a row, one only wins.
 */
@Injectable()
export class ExecutionsRepository {
  /** Every column but `files`, for reads that do not serve them. */
  private readonly withoutFiles: string[];
  /** `INSERT INTO executions (…every column…) VALUES`, the rows to follow. */
  private readonly insertInto: string;
  /** Each column of a new row, in `insertInto`'s order. */
  private readonly newRowColumns: NewRowColumn[];

  constructor(
    @InjectRepository(ExecutionEntity) private readonly executions: Repository<ExecutionEntity>,
    @InjectRepository(ExecutionLogEntity) private readonly logs: Repository<ExecutionLogEntity>,
    @InjectRepository(ExecutionAttemptEntity) private readonly attemptRows: Repository<ExecutionAttemptEntity>,
    private readonly programs: ProgramsRepository,
  ) {
    this.withoutFiles = executions.metadata.columns.filter((column) => column.propertyName !== 'files').map((column) => `e.${column.propertyName}`);
    const { driver } = executions.manager.connection;
    const names = executions.metadata.columns.map((column) => driver.escape(column.databaseName)).join(', ');
    this.insertInto = `INSERT INTO ${driver.escape(executions.metadata.tablePath)} (${names}) VALUES`;
    this.newRowColumns = executions.metadata.columns.map((column) =>
      column.propertyName in NEW_ROW
        ? { literal: sqlLiteral(driver.preparePersistentValue(NEW_ROW[column.propertyName as keyof typeof NEW_ROW], column)) }
        : { column },
    );
  }

  /** Stores a new `queued` execution; a second one with the workspace's idempotency key fails with a unique violation. */
  async create(fields: NewExecution): Promise<ExecutionEntity> {
    const [execution] = await this.createMany([fields]);
    return execution;
  }

  /**
   * Stores new `queued` executions in one multi-row INSERT (a statement of its own is atomic on
   * SQLite and PostgreSQL alike): all of them or, on any error (a unique violation of one
   * idempotency key fails the whole statement), none. At most MAX_ROWS_PER_INSERT rows. Their
   * files go to `programs` first, those not stored yet; each row names its program, and is
   * returned with `files` null, as stored.
   */
  async createMany(many: readonly NewExecution[]): Promise<ExecutionEntity[]> {
    if (many.length > MAX_ROWS_PER_INSERT) throw new Error(`createMany takes at most ${MAX_ROWS_PER_INSERT} executions, not ${many.length}`);
    if (many.length === 0) return [];
    const programIds = await this.programs.store(many);
    const executions = many.map((fields, index) =>
      Object.assign(new ExecutionEntity(), {
        maxAttempts: DEFAULT_RETRY.maxAttempts,
        retryBackoffSeconds: DEFAULT_RETRY.backoffSeconds,
        retryOn: [...DEFAULT_RETRY.on],
        ...fields,
        callbackUrl: fields.callbackUrl ?? null,
        ...NEW_ROW,
        programId: programIds[index],
      } satisfies ExecutionEntity),
    );
    try {
      await this.insert(executions);
    } catch (error) {
      if (!isForeignKeyViolation(error)) throw error;
      // A program this process knew as stored was deleted meanwhile (the retention job deletes those
      // no execution uses): stored again, then the rows (a deleted workspace fails again, and throws).
      this.programs.forget(programIds);
      await this.programs.store(many);
      await this.insert(executions);
    }
    return executions;
  }

  private async insert(executions: readonly ExecutionEntity[]): Promise<void> {
    // A plain statement, not the query builder, which costs more than the row itself; the values go
    // through each column's transformer and the driver as the builder would send them. What the
    // rows share costs one bound value, not one a row (sqlite3 costs per value it binds; the same
    // is stored): a column every new row has the same (NEW_ROW) is a literal in the text, and one
    // with one value in the whole batch (its workflow, its program, its trigger, most often) is
    // bound once (a NULL written as the literal), every row naming that parameter (`?N`, `$N`).
    // The others are bound row by row, a NULL too: the text depends on the batch's size and on
    // which columns its rows share, not on which rows have an idempotency key.
    const { connection } = this.executions.manager;
    const { driver } = connection;
    const sqlite = driver.options.type === 'sqlite';
    const values: unknown[] = [];
    const bind = (value: unknown): string => {
      values.push(value ?? null);
      return sqlite ? `?${values.length}` : driver.createParameter(`v${values.length - 1}`, values.length - 1);
    };
    const persisted = executions.map((execution) =>
      this.newRowColumns.map((written): unknown =>
        'literal' in written ? undefined : driver.preparePersistentValue(written.column.getEntityValue(execution), written.column),
      ),
    );
    const shared = this.newRowColumns.map((written, column) => {
      if ('literal' in written) return written.literal;
      if (OWN_OF_EACH_ROW.has(written.column.propertyName)) return undefined;
      const value: unknown = persisted[0][column];
      if (!persisted.every((row) => row[column] === value)) return undefined;
      return value === null || value === undefined ? 'NULL' : bind(value);
    });
    const rows = persisted.map((row) => `(${row.map((value, column) => shared[column] ?? bind(value)).join(', ')})`);
    const sql = `${this.insertInto} ${rows.join(', ')}`;
    // On SQLite, a statement kept prepared: a batch's text repeats, and preparing a 30-row INSERT
    // costs more than running it. PostgreSQL's driver sends the text and the values apart already,
    // and pg keeps no unnamed statement.
    if (sqlite) await runKeptStatement(connection, sql, values);
    else await this.executions.query(sql, values);
  }

  async find(id: string): Promise<ExecutionRecord | null> {
    return this.select().select(this.withoutFiles).where('e.id = :id', { id }).getOne();
  }

  /** The whole row with its files: what a run (and a re-run) needs. */
  async findToRun(id: string): Promise<ExecutionToRun | null> {
    const row = await this.select().where('e.id = :id', { id }).getOne();
    return row === null ? null : { ...row, files: await this.filesOf(row) };
  }

  async findFiles(id: string): Promise<{ id: string; workspaceId: string; files: GeneratedFiles } | null> {
    const row = await this.select().select(['e.id', 'e.workspaceId', 'e.files', 'e.programId']).where('e.id = :id', { id }).getOne();
    return row === null ? null : { id: row.id, workspaceId: row.workspaceId, files: await this.filesOf(row) };
  }

  async findByIdempotencyKey(workspaceId: string, key: string): Promise<ExecutionRecord | null> {
    return this.select().select(this.withoutFiles).where('e.workspaceId = :workspaceId AND e.idempotencyKey = :key', { workspaceId, key }).getOne();
  }

  /** A page of the workspace's executions, newest first: `limit + 1` rows, so `toPage` tells whether more follow. */
  async list(workspaceId: string, filter: ExecutionFilter, limit: number, cursor?: string): Promise<ExecutionRecord[]> {
    const query = this.select().select(this.withoutFiles).where('e.workspaceId = :workspaceId', { workspaceId });
    if (filter.workflowId !== undefined) query.andWhere('e.workflowId = :workflowId', { workflowId: filter.workflowId });
    if (filter.status !== undefined) query.andWhere('e.status = :status', { status: filter.status });
    if (filter.trigger !== undefined) query.andWhere('e.triggerType = :trigger', { trigger: filter.trigger });
    return pageAfter(query, 'e', limit, cursor).getMany();
  }

  /** The `queued` executions (only `id`, or those created before `before`, when given), oldest first. */
  async findQueued(filter: { id?: string; before?: Date } = {}): Promise<QueuedRow[]> {
    const query = this.select()
      .select('e.id', 'executionId')
      .addSelect('e.workspaceId', 'workspaceId')
      .addSelect('w.plan', 'plan')
      .addSelect('e.attempt', 'attempt')
      .addSelect('e.nextAttemptAt', 'nextAttemptAt')
      .innerJoin(WorkspaceEntity, 'w', 'w.id = e.workspaceId')
      // A row an executor took (a batch job still pending) is held by a worker: not to run again.
      .where("e.status = 'queued' AND e.heartbeatAt IS NULL");
    if (filter.id !== undefined) query.andWhere('e.id = :id', { id: filter.id });
    if (filter.before !== undefined) query.andWhere('e.createdAt < :before', { before: filter.before.toISOString() });
    const rows = await query.orderBy('e.createdAt').addOrderBy('e.id').getRawMany<Omit<QueuedRow, 'nextAttemptAt'> & { nextAttemptAt: string | null }>();
    // Raw rows skip the entity's transformers: the timestamp is the ISO text the column holds.
    return rows.map((row) => ({ ...row, attempt: Number(row.attempt), nextAttemptAt: row.nextAttemptAt === null ? null : new Date(row.nextAttemptAt) }));
  }

  /**
   * The executions a worker holds: `running`, and `queued` ones an executor took (their start not
   * reported yet); only those not stamped since `staleBefore`, when given.
   */
  async findRunning(staleBefore?: Date): Promise<HeldRun[]> {
    const query = this.select().select('e.id', 'id').addSelect('e.executor', 'executor').addSelect('e.externalId', 'externalId').where(HELD);
    if (staleBefore !== undefined) query.andWhere('COALESCE(e.heartbeatAt, e.startedAt) < :before', { before: staleBefore.toISOString() });
    return query.getRawMany<HeldRun>();
  }

  /** What the `finished` event tells of a run. */
  async findRun(id: string): Promise<Pick<ExecutionEntity, 'executor' | 'startedAt'> | null> {
    return this.select().select(['e.id', 'e.executor', 'e.startedAt']).where('e.id = :id', { id }).getOne();
  }

  /** Frees an expired idempotency key for a new execution. */
  async releaseIdempotencyKey(id: string): Promise<void> {
    await this.update().set({ idempotencyKey: null }).where('id = :id', { id }).execute();
  }

  async requestCancel(id: string, at: Date): Promise<void> {
    await this.update().set({ cancelRequestedAt: at }).where('id = :id', { id }).execute();
  }

  /** `queued → running`, unless a cancel was asked for: true for the one process that takes the execution. */
  async claim(id: string, startedAt: Date): Promise<boolean> {
    const result = await this.update()
      .set({ status: 'running', startedAt, heartbeatAt: startedAt })
      .where("id = :id AND status = 'queued' AND heartbeatAt IS NULL AND cancelRequestedAt IS NULL", { id })
      .execute();
    return Boolean(result.affected);
  }

  /**
   * For an executor that reports its program's start: the worker takes the `queued` execution
   * (stamps it) but it stays `queued` until {@link start}; true for the one process that takes it.
   */
  async take(id: string, at: Date): Promise<boolean> {
    const result = await this.update()
      .set({ heartbeatAt: at })
      .where("id = :id AND status = 'queued' AND heartbeatAt IS NULL AND cancelRequestedAt IS NULL", { id })
      .execute();
    return Boolean(result.affected);
  }

  /** A taken execution's program started: `queued → running` at `startedAt`. */
  async start(id: string, startedAt: Date): Promise<boolean> {
    const result = await this.update()
      .set({ status: 'running', startedAt })
      .where("id = :id AND status = 'queued' AND heartbeatAt IS NOT NULL", { id })
      .execute();
    return Boolean(result.affected);
  }

  /**
   * The reconciler of another worker takes over a held run whose worker stopped stamping it (to
   * resume it): true for the one process whose conditional stamp wins.
   */
  async takeOver(id: string, staleBefore: Date, at: Date): Promise<boolean> {
    const result = await this.update()
      .set({ heartbeatAt: at })
      .where(`id = :id AND ${HELD_UNALIASED} AND COALESCE(heartbeatAt, startedAt) < :before`, { id, before: staleBefore.toISOString() })
      .execute();
    return Boolean(result.affected);
  }

  /** Where the executor runs it (a process group, a container, host:pid, a job id), while it runs or waits. */
  async setExternalId(id: string, externalId: string): Promise<void> {
    await this.update().set({ externalId }).where(`id = :id AND ${HELD_UNALIASED}`, { id }).execute();
  }

  /** A run its executor detached from at shutdown (it goes on): the lines stored so far, for the server that resumes it. */
  async detach(id: string, logCount: number): Promise<void> {
    await this.update().set({ logCount }).where("id = :id AND status IN ('queued', 'running')", { id }).execute();
  }

  /** Stamps the held executions among `ids`: their worker is alive. */
  async heartbeat(ids: readonly string[], at: Date): Promise<void> {
    await this.update().set({ heartbeatAt: at }).where(`id IN (:...ids) AND ${HELD_UNALIASED}`, { ids }).execute();
  }

  /** Stores how the execution ended, if it meets `condition`; true when it did. */
  async finish(id: string, end: ExecutionEnd, condition: FinishCondition): Promise<boolean> {
    const { logCount, externalId, ...always } = end;
    const fields = { ...always } as QueryDeepPartialEntity<ExecutionEntity>;
    if (logCount !== undefined) fields.logCount = logCount;
    if (externalId !== undefined) fields.externalId = externalId;
    const update = this.update().set(fields).where('id = :id AND status IN (:...from)', { id, from: condition.from });
    if (condition.staleBefore !== undefined) {
      update.andWhere('COALESCE(heartbeatAt, startedAt) < :before', { before: condition.staleBefore.toISOString() });
    }
    if (condition.attempt !== undefined) update.andWhere('attempt = :attempt', { attempt: condition.attempt });
    if (condition.held !== undefined) update.andWhere(condition.held ? HELD_UNALIASED : 'heartbeatAt IS NULL');
    return Boolean((await update.execute()).affected);
  }

  /**
   * Ends the row's current attempt and queues the next one, in one transaction: the ended attempt
   * is kept in `execution_attempts`, and the row goes back to `queued` at attempt + 1, to start
   * once `nextAttemptAt` has come. Only if the row is still at that attempt, meets `condition` and
   * no cancel was asked for: of two processes that saw the attempt end (a worker and a
   * reconciler), one only queues it again. True when this call did.
   */
  async retry(id: string, end: AttemptEnd, condition: FinishCondition): Promise<boolean> {
    // No transaction (TypeORM's SQLite driver has one connection, and one transaction at a time on
    // it): the ended attempt's row, whose key is (execution, attempt), is written first and is
    // the lock: a second process that saw the same attempt end cannot write it and does not retry.
    try {
      await this.attemptRows
        .createQueryBuilder()
        .insert()
        .values({
          executionId: id,
          attempt: end.attempt,
          status: end.status,
          errorCode: end.errorCode,
          errorMessage: end.errorMessage,
          startedAt: end.startedAt,
          completedAt: end.completedAt,
        })
        .updateEntity(false)
        .execute();
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
    const fields: QueryDeepPartialEntity<ExecutionEntity> = {
      status: 'queued',
      attempt: end.attempt + 1,
      nextAttemptAt: end.nextAttemptAt,
      heartbeatAt: null,
      externalId: null,
      exitCode: null,
      errorCode: null,
      errorMessage: null,
    };
    if (end.logCount !== undefined) fields.logCount = end.logCount;
    const update = this.update()
      .set(fields)
      .where('id = :id AND status IN (:...from) AND attempt = :attempt AND cancelRequestedAt IS NULL', { id, from: condition.from, attempt: end.attempt });
    if (condition.staleBefore !== undefined) {
      update.andWhere('COALESCE(heartbeatAt, startedAt) < :before', { before: condition.staleBefore.toISOString() });
    }
    if (condition.held !== undefined) update.andWhere(condition.held ? HELD_UNALIASED : 'heartbeatAt IS NULL');
    if ((await update.execute()).affected) return true;
    // It ended otherwise meanwhile (a cancel, another process): the attempt is the row's, not a kept one.
    await this.attemptRows.delete({ executionId: id, attempt: end.attempt });
    return false;
  }

  /** The attempts of an execution that ended and were followed by another one, in order. */
  async attempts(executionId: string): Promise<ExecutionAttemptEntity[]> {
    return this.attemptRows.createQueryBuilder('a').where('a.executionId = :executionId', { executionId }).orderBy('a.attempt', 'ASC').getMany();
  }

  async appendLogs(lines: readonly ExecutionLogEntity[]): Promise<void> {
    for (let start = 0; start < lines.length; start += LOG_LINES_PER_INSERT) {
      await this.logs
        .createQueryBuilder()
        .insert()
        .values(lines.slice(start, start + LOG_LINES_PER_INSERT))
        .execute();
    }
  }

  /** How many lines of the execution are stored (one past the last `seq`): a lost run's count, which its row never got. */
  async storedLogCount(executionId: string): Promise<number> {
    const row = await this.logs
      .createQueryBuilder('l')
      .select('MAX(l.seq)', 'last')
      .where('l.executionId = :executionId', { executionId })
      .getRawOne<{ last: number | string | null }>();
    return row?.last === null || row?.last === undefined ? 0 : Number(row.last) + 1;
  }

  /** How many stored lines of the execution each stream has (what a resumed run skips). */
  async storedLogCounts(executionId: string): Promise<Record<LogStream, number>> {
    const rows = await this.logs
      .createQueryBuilder('l')
      .select('l.stream', 'stream')
      .addSelect('COUNT(*)', 'count')
      .where('l.executionId = :executionId', { executionId })
      .groupBy('l.stream')
      .getRawMany<{ stream: string; count: number | string }>();
    const counts: Record<LogStream, number> = { stdout: 0, stderr: 0, system: 0 };
    for (const row of rows) if (row.stream in counts) counts[row.stream as LogStream] = Number(row.count);
    return counts;
  }

  /** Stored lines of the execution with `seq` greater than `after`, in order. */
  async readLogs(executionId: string, after: number): Promise<StoredLogLine[]> {
    return this.logs.createQueryBuilder('l').where('l.executionId = :executionId AND l.seq > :after', { executionId, after }).orderBy('l.seq', 'ASC').getMany();
  }

  /** A row's files: its program's, or (rows from before programs) its own. */
  private async filesOf(row: Pick<ExecutionEntity, 'id' | 'files' | 'programId'>): Promise<GeneratedFiles> {
    const files = row.programId === null ? row.files : await this.programs.load(row.programId);
    // Cannot happen while the foreign key holds: a program is deleted only once no row names it.
    if (files === null) throw new Error(`Execution ${row.id} has no files: program ${row.programId} is missing`);
    return files;
  }

  private select(): SelectQueryBuilder<ExecutionEntity> {
    return this.executions.createQueryBuilder('e');
  }

  private update(): UpdateQueryBuilder<ExecutionEntity> {
    return this.executions.createQueryBuilder().update();
  }
}

/** The SQL literal of a constant the server wrote (NEW_ROW's values, as the driver persists them), the same on SQLite and PostgreSQL. */
function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'string') return `'${value.replaceAll("'", "''")}'`;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw new Error(`No SQL literal for ${typeof value} ${JSON.stringify(value)}`);
}
