import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { decodeCursor, encodeCursor } from '../common/pagination';
import type { AppConfig } from '../config/config';
import { buildDataSourceOptions } from '../database/data-source-options';
import { isUniqueViolation } from '../database/query-helpers';
import { runMigrationsExclusively } from '../database/migrate';
import { rawQuery } from '../database/raw-query';
import { WorkspaceEntity } from '../workspaces/workspace.entity';
import { ExecutionAttemptEntity, ExecutionEntity, ExecutionErrorCode, ExecutionLogEntity } from './execution.entity';
import { ExecutionCommits } from './execution-commits';
import { InProcessExecutionQueue } from './execution-queue';
import { ExecutionPurge } from './execution-purge';
import { type ExecutionEnd, ExecutionsRepository, MAX_ROWS_PER_INSERT, type NewExecution } from './executions.repository';
import { ProgramEntity } from './program.entity';
import { programId, ProgramsRepository } from './programs.repository';

/** Opens a migrated database of the server's own options; `close` closes (and removes) it. */
export type OpenDatabase = () => Promise<{ dataSource: DataSource; close: () => Promise<void> }>;

/** A database of the server's own options and migrations; `remove` runs once it is closed. */
export async function openMigrated(database: AppConfig['database'], remove: () => unknown): ReturnType<OpenDatabase> {
  const dataSource = await new DataSource({
    ...buildDataSourceOptions({ database } as AppConfig),
    entities: [WorkspaceEntity, ExecutionEntity, ExecutionLogEntity, ExecutionAttemptEntity, ProgramEntity],
  }).initialize();
  await runMigrationsExclusively(dataSource);
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await remove();
    },
  };
}

const at = (iso: string) => new Date(iso);
const T0 = '2026-11-28T12:00:00.000Z';
const FILES = { 'main.py': 'print("hello")\n', 'utils.py': '', 'requirements.txt': '' };

function execution(id: string, fields: Partial<NewExecution> = {}): NewExecution {
  return {
    id,
    workspaceId: 'ws_a',
    workflowId: 'wf_a',
    workflowVersion: 1,
    executor: 'local',
    gpu: false,
    inputs: { name: 'Ada' },
    timeoutSeconds: 60,
    files: FILES,
    idempotencyKey: null,
    requestHash: null,
    createdAt: at(T0),
    triggerType: 'api',
    trigger: { type: 'api' },
    ...fields,
  };
}

const failed = (completedAt: Date): ExecutionEnd => ({
  status: 'failed',
  completedAt,
  exitCode: null,
  output: null,
  errorCode: ExecutionErrorCode.WORKER_LOST,
  errorMessage: 'lost',
});

/**
 * What every database the server supports must do with the executions' operations: this file on
 * a SQLite file, test/integration/executions-repository.int-spec.ts on PostgreSQL.
 */
export function executionsRepositoryCases(open: OpenDatabase): void {
  let repository: ExecutionsRepository;
  let dataSource: DataSource;
  let close: () => Promise<void>;

  beforeEach(async () => {
    const database = await open();
    close = database.close;
    dataSource = database.dataSource;
    const workspaces = database.dataSource.getRepository(WorkspaceEntity);
    for (const [id, plan] of [
      ['ws_a', 'free'],
      ['ws_b', 'pro'],
    ] as const) {
      await workspaces.insert({ id, name: id, plan, rateLimitPerMinute: null, createdAt: at(T0), updatedAt: at(T0) });
    }
    repository = repositoryOf(dataSource);
  });

  /** The repository as a process builds it, with caches of its own (two of them: two processes). */
  function repositoryOf(source: DataSource, programs = new ProgramsRepository(source.getRepository(ProgramEntity))): ExecutionsRepository {
    return new ExecutionsRepository(
      source.getRepository(ExecutionEntity),
      source.getRepository(ExecutionLogEntity),
      source.getRepository(ExecutionAttemptEntity),
      programs,
    );
  }
  afterEach(() => close());

  it('stores a new execution queued and reads it back as it was written, without its files unless asked for them', async () => {
    const created = await repository.create(execution('exec_1', { gpu: true }));
    const read = await repository.find('exec_1');
    expect(read).toMatchObject({
      id: 'exec_1',
      status: 'queued',
      gpu: true,
      inputs: { name: 'Ada' },
      output: null,
      logCount: 0,
      createdAt: at(T0),
      startedAt: null,
    });
    expect({ ...read, files: null }).toEqual({ ...created });
    expect(read).not.toHaveProperty('files', expect.anything());
    expect((await repository.findToRun('exec_1'))?.files).toEqual(FILES);
    expect(await repository.findFiles('exec_1')).toEqual({ id: 'exec_1', workspaceId: 'ws_a', files: FILES });
    expect(await repository.find('exec_none')).toBeNull();
  });

  it("refuses a second execution with the workspace's idempotency key, and finds the first by it until the key is released", async () => {
    await repository.create(execution('exec_1', { idempotencyKey: 'k', requestHash: 'h' }));
    const second = await repository.create(execution('exec_2', { idempotencyKey: 'k' })).catch((error: unknown) => error);
    expect(isUniqueViolation(second)).toBe(true);
    await repository.create(execution('exec_3', { workspaceId: 'ws_b', idempotencyKey: 'k' }));
    expect((await repository.findByIdempotencyKey('ws_a', 'k'))?.id).toBe('exec_1');
    await repository.releaseIdempotencyKey('exec_1');
    expect(await repository.findByIdempotencyKey('ws_a', 'k')).toBeNull();
    await repository.create(execution('exec_2', { idempotencyKey: 'k' }));
  });

  it("lists a workspace's executions newest first, filtered, a page at a time", async () => {
    for (let i = 1; i <= 5; i++) {
      await repository.create(execution(`exec_${i}`, { createdAt: at(`2026-11-28T12:00:0${i}.000Z`), workflowId: i === 5 ? 'wf_b' : 'wf_a' }));
      if (i % 2 === 0) await repository.finish(`exec_${i}`, failed(at(T0)), { from: ['queued'] });
    }
    await repository.create(execution('exec_other', { workspaceId: 'ws_b' }));
    const first = await repository.list('ws_a', {}, 2);
    expect(first.map((e) => e.id)).toEqual(['exec_5', 'exec_4', 'exec_3']);
    const next = await repository.list('ws_a', {}, 2, encodeCursor(first[1]));
    expect(next.map((e) => e.id)).toEqual(['exec_3', 'exec_2', 'exec_1']);
    expect(decodeCursor(encodeCursor(first[1])).id).toBe('exec_4');
    expect((await repository.list('ws_a', { status: 'queued', workflowId: 'wf_a' }, 10)).map((e) => e.id)).toEqual(['exec_3', 'exec_1']);
  });

  it('stores what started an execution and filters on its type', async () => {
    await repository.create(execution('exec_1'));
    await repository.create(execution('exec_2', { triggerType: 'webhook', trigger: { type: 'webhook', hookId: 'hk_a' } }));
    const fireTime = '2026-12-07T02:30:00.000Z';
    await repository.create(execution('exec_3', { triggerType: 'schedule', trigger: { type: 'schedule', fireTime } }));
    expect((await repository.find('exec_2'))?.trigger).toEqual({ type: 'webhook', hookId: 'hk_a' });
    expect((await repository.list('ws_a', { trigger: 'schedule' }, 10)).map((e) => [e.id, e.trigger])).toEqual([['exec_3', { type: 'schedule', fireTime }]]);
    expect((await repository.list('ws_a', { trigger: 'api' }, 10)).map((e) => e.id)).toEqual(['exec_1']);
  });

  it("lists the queued executions oldest first with their workspace's plan, by id or created before a time", async () => {
    await repository.create(execution('exec_2', { createdAt: at('2026-11-28T12:00:02.000Z'), workspaceId: 'ws_b' }));
    await repository.create(execution('exec_1', { createdAt: at('2026-11-28T12:00:01.000Z') }));
    await repository.create(execution('exec_3', { createdAt: at('2026-11-28T12:00:03.000Z') }));
    await repository.claim('exec_3', at('2026-11-28T12:00:04.000Z'));
    expect(await repository.findQueued()).toEqual([
      { executionId: 'exec_1', workspaceId: 'ws_a', plan: 'free', attempt: 1, nextAttemptAt: null },
      { executionId: 'exec_2', workspaceId: 'ws_b', plan: 'pro', attempt: 1, nextAttemptAt: null },
    ]);
    expect(await repository.findQueued({ id: 'exec_2' })).toEqual([
      { executionId: 'exec_2', workspaceId: 'ws_b', plan: 'pro', attempt: 1, nextAttemptAt: null },
    ]);
    expect(await repository.findQueued({ id: 'exec_3' })).toEqual([]);
    expect((await repository.findQueued({ before: at('2026-11-28T12:00:02.000Z') })).map((row) => row.executionId)).toEqual(['exec_1']);
  });

  it("queues the next attempt once: of two processes that saw an attempt end, one only; not after a cancel; not past the row's attempt", async () => {
    await repository.create(execution('exec_1', { maxAttempts: 3 }));
    const startedAt = at('2026-11-28T12:00:05.000Z');
    await repository.claim('exec_1', startedAt);
    await repository.appendLogs([Object.assign(new ExecutionLogEntity(), { executionId: 'exec_1', seq: 0, stream: 'stdout', line: 'run 1' })]);
    const end = {
      attempt: 1,
      status: 'failed' as const,
      errorCode: ExecutionErrorCode.WORKER_LOST,
      errorMessage: 'lost',
      startedAt,
      completedAt: at('2026-11-28T12:00:06.000Z'),
      nextAttemptAt: at('2026-11-28T12:00:16.000Z'),
      logCount: await repository.storedLogCount('exec_1'),
    };
    const [first, second] = await Promise.all([repository.retry('exec_1', end, { from: ['running'] }), repository.retry('exec_1', end, { from: ['running'] })]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await repository.find('exec_1')).toMatchObject({ status: 'queued', attempt: 2, logCount: 1, errorCode: null, nextAttemptAt: end.nextAttemptAt });
    expect(await repository.attempts('exec_1')).toEqual([
      expect.objectContaining({ executionId: 'exec_1', attempt: 1, status: 'failed', errorCode: 'WORKER_LOST', startedAt, completedAt: end.completedAt }),
    ]);
    expect((await repository.findQueued({ id: 'exec_1' }))[0]).toMatchObject({ attempt: 2, nextAttemptAt: end.nextAttemptAt });
    // The same attempt again (a late reconciler): refused.
    expect(await repository.retry('exec_1', end, { from: ['queued', 'running'] })).toBe(false);
    await repository.claim('exec_1', at('2026-11-28T12:00:20.000Z'));
    await repository.requestCancel('exec_1', at('2026-11-28T12:00:21.000Z'));
    expect(await repository.retry('exec_1', { ...end, attempt: 2 }, { from: ['running'] })).toBe(false);
    expect(await repository.find('exec_1')).toMatchObject({ status: 'running', attempt: 2 });
  });

  it('claims a queued execution once, and not one whose cancel was asked for', async () => {
    await repository.create(execution('exec_1'));
    await repository.create(execution('exec_2'));
    const startedAt = at('2026-11-28T12:00:05.000Z');
    expect(await repository.claim('exec_1', startedAt)).toBe(true);
    expect(await repository.claim('exec_1', startedAt)).toBe(false);
    expect(await repository.find('exec_1')).toMatchObject({ status: 'running', startedAt, heartbeatAt: startedAt });
    await repository.requestCancel('exec_2', startedAt);
    expect(await repository.claim('exec_2', startedAt)).toBe(false);
    expect(await repository.find('exec_2')).toMatchObject({ status: 'queued', cancelRequestedAt: startedAt });
  });

  it('stores the external id of a running execution only', async () => {
    await repository.create(execution('exec_1'));
    await repository.setExternalId('exec_1', 'early');
    expect((await repository.find('exec_1'))?.externalId).toBeNull();
    await repository.claim('exec_1', at(T0));
    await repository.setExternalId('exec_1', '4242');
    expect((await repository.find('exec_1'))?.externalId).toBe('4242');
  });

  it('stamps the running executions among the ids, and finds those not stamped since a time', async () => {
    for (const id of ['exec_1', 'exec_2', 'exec_3']) await repository.create(execution(id));
    await repository.claim('exec_1', at('2026-11-28T12:00:01.000Z'));
    await repository.claim('exec_2', at('2026-11-28T12:00:01.000Z'));
    await repository.heartbeat(['exec_1', 'exec_3'], at('2026-11-28T12:00:09.000Z'));
    expect((await repository.find('exec_3'))?.heartbeatAt).toBeNull();
    expect((await repository.findRunning()).map((run) => run.id).sort()).toEqual(['exec_1', 'exec_2']);
    expect(await repository.findRunning(at('2026-11-28T12:00:05.000Z'))).toEqual([{ id: 'exec_2', executor: 'local', externalId: null }]);
  });

  it('lets one worker take a queued execution for an executor that reports its start: held, still queued, then running from its start', async () => {
    for (const id of ['exec_1', 'exec_2']) await repository.create(execution(id));
    expect(await repository.take('exec_1', at('2026-11-28T12:00:01.000Z'))).toBe(true);
    expect(await repository.take('exec_1', at('2026-11-28T12:00:01.000Z'))).toBe(false);
    expect(await repository.claim('exec_1', at('2026-11-28T12:00:01.000Z'))).toBe(false);
    await repository.setExternalId('exec_1', '77');
    await repository.setExternalId('exec_2', 'not held');
    expect(await repository.find('exec_1')).toMatchObject({ status: 'queued', externalId: '77', startedAt: null });
    expect((await repository.find('exec_2'))?.externalId).toBeNull();
    // Held: not queued again, found with the running ones, stamped by its worker, not cancellable as never taken.
    expect((await repository.findQueued()).map((row) => row.executionId)).toEqual(['exec_2']);
    expect(await repository.findRunning()).toEqual([{ id: 'exec_1', executor: 'local', externalId: '77' }]);
    await repository.heartbeat(['exec_1'], at('2026-11-28T12:00:09.000Z'));
    expect((await repository.find('exec_1'))?.heartbeatAt).toEqual(at('2026-11-28T12:00:09.000Z'));
    const cancelled = {
      status: 'cancelled' as const,
      completedAt: at('2026-11-28T12:00:10.000Z'),
      exitCode: null,
      output: null,
      errorCode: null,
      errorMessage: null,
    };
    expect(await repository.finish('exec_1', cancelled, { from: ['queued'], held: false })).toBe(false);
    // A reconciler takes over a stale held run once only.
    expect(await repository.takeOver('exec_1', at('2026-11-28T12:00:05.000Z'), at('2026-11-28T12:00:20.000Z'))).toBe(false);
    expect(await repository.takeOver('exec_1', at('2026-11-28T12:00:10.000Z'), at('2026-11-28T12:00:20.000Z'))).toBe(true);
    expect(await repository.takeOver('exec_1', at('2026-11-28T12:00:10.000Z'), at('2026-11-28T12:00:21.000Z'))).toBe(false);
    expect(await repository.start('exec_2', at('2026-11-28T12:00:30.000Z'))).toBe(false);
    expect(await repository.start('exec_1', at('2026-11-28T12:00:30.000Z'))).toBe(true);
    expect(await repository.find('exec_1')).toMatchObject({ status: 'running', startedAt: at('2026-11-28T12:00:30.000Z') });
    expect(await repository.finish('exec_2', cancelled, { from: ['queued'], held: false })).toBe(true);
  });

  it('finishes an execution only from the statuses named, and only if still stale when asked so', async () => {
    await repository.create(execution('exec_1'));
    await repository.claim('exec_1', at('2026-11-28T12:00:01.000Z'));
    await repository.setExternalId('exec_1', 'kept');
    const end: ExecutionEnd = {
      status: 'completed',
      completedAt: at('2026-11-28T12:00:02.000Z'),
      exitCode: 0,
      output: { result: 'Hello' },
      errorCode: null,
      errorMessage: null,
      logCount: 3,
    };
    expect(await repository.finish('exec_1', end, { from: ['queued'] })).toBe(false);
    expect(await repository.finish('exec_1', failed(at(T0)), { from: ['running'], staleBefore: at('2026-11-28T12:00:01.000Z') })).toBe(false);
    expect(await repository.finish('exec_1', end, { from: ['queued', 'running'] })).toBe(true);
    expect(await repository.find('exec_1')).toMatchObject({ ...end, externalId: 'kept' });
    expect(await repository.findRun('exec_1')).toMatchObject({ executor: 'local', startedAt: at('2026-11-28T12:00:01.000Z') });

    await repository.create(execution('exec_2'));
    await repository.claim('exec_2', at('2026-11-28T12:00:01.000Z'));
    expect(
      await repository.finish('exec_2', { ...failed(at(T0)), externalId: 'host:42' }, { from: ['running'], staleBefore: at('2026-11-28T12:00:02.000Z') }),
    ).toBe(true);
    expect(await repository.find('exec_2')).toMatchObject({ status: 'failed', errorCode: 'WORKER_LOST', externalId: 'host:42', logCount: 0, output: null });
  });

  it('appends log lines in batches and reads those after a line, in order', async () => {
    await repository.create(execution('exec_1'));
    const lines = Array.from({ length: 450 }, (_, seq) =>
      Object.assign(new ExecutionLogEntity(), { executionId: 'exec_1', seq, stream: seq % 2 ? 'stderr' : 'stdout', line: `line ${seq} ✓` }),
    );
    await repository.appendLogs(lines);
    const read = await repository.readLogs('exec_1', 446);
    expect(read.map(({ seq, stream, line }) => ({ seq, stream, line }))).toEqual([
      { seq: 447, stream: 'stderr', line: 'line 447 ✓' },
      { seq: 448, stream: 'stdout', line: 'line 448 ✓' },
      { seq: 449, stream: 'stderr', line: 'line 449 ✓' },
    ]);
    expect(await repository.readLogs('exec_1', -1)).toHaveLength(450);
    expect(await repository.storedLogCounts('exec_1')).toEqual({ stdout: 225, stderr: 225, system: 0 });
  });

  it('stores many executions in one statement, each as written; a frozen files object shared by them is stored once, as their program', async () => {
    const shared = Object.freeze({ ...FILES, 'main.py': 'print("shared")\n' });
    const many = [
      execution('exec_1', { files: shared, gpu: true }),
      execution('exec_2', { files: shared, inputs: { nested: { list: [1, 'two', null] } }, idempotencyKey: 'k', requestHash: 'h' }),
      execution('exec_3', { workspaceId: 'ws_b', triggerType: 'webhook', trigger: { type: 'webhook', hookId: 'hk_a' }, callbackUrl: 'https://example.com/cb' }),
    ];
    const created = await repository.createMany(many);
    expect(created.map((row) => row.id)).toEqual(['exec_1', 'exec_2', 'exec_3']);
    for (const [index, row] of created.entries()) {
      const { files, ...rest } = row;
      expect(files).toBeNull();
      expect(await repository.find(row.id)).toEqual(rest);
      expect((await repository.findToRun(row.id))?.files).toEqual(many[index].files);
    }
    expect((await repository.findToRun('exec_2'))?.files).toEqual(shared);
    expect(created[0].programId).toBe(created[1].programId);
    expect(Number((await rawQuery<{ n: unknown }>(dataSource, 'SELECT COUNT(*) AS n FROM programs', {}))[0].n)).toBe(2);
    expect(await repository.findQueued()).toHaveLength(3);
    expect(await repository.createMany([])).toEqual([]);
    // A full batch stays within SQLite's historical bound of 999 parameters, whatever columns are added.
    expect(MAX_ROWS_PER_INSERT * dataSource.getMetadata(ExecutionEntity).columns.length).toBeLessThanOrEqual(999);
  });

  it("writes every column of a new row as TypeORM's own insert of the same execution does, value and type", async () => {
    const many = [
      execution('exec_1', { gpu: true, executor: null }),
      execution('exec_2', {
        inputs: { quote: "it's", nested: { list: [1, 'two', null] } },
        idempotencyKey: 'k',
        requestHash: 'h',
        callbackUrl: 'https://example.com/cb',
        maxAttempts: 3,
        retryBackoffSeconds: 5,
        retryOn: ['failed'],
      }),
      execution('exec_3', {
        workspaceId: 'ws_b',
        triggerType: 'webhook',
        trigger: { type: 'webhook', hookId: 'hk_a' },
        createdAt: at('2026-11-28T12:00:01.500Z'),
      }),
    ];
    // Batches of two sizes, the second size twice: a statement prepared, and one run again.
    const created = [...(await repository.createMany(many.slice(0, 1))), ...(await repository.createMany(many.slice(1)))];
    created.push(...(await repository.createMany([execution('exec_4'), execution('exec_5', { gpu: true })])));
    const rows = () => dataSource.query<Record<string, unknown>[]>('SELECT * FROM executions ORDER BY id');
    const written = await rows();
    await rawQuery(dataSource, 'DELETE FROM executions', {});
    // TypeORM's own insert (the query builder's): each column's transformer and the driver's conversion.
    for (const row of created) await dataSource.getRepository(ExecutionEntity).insert(row as QueryDeepPartialEntity<ExecutionEntity>);
    expect(written).toEqual(await rows());
    expect(written.map((row) => [row.status, row.attempt, row.log_count, row.files])).toEqual(Array(5).fill(['queued', 1, 0, '']));
  });

  it('stores all of many executions or none: a used idempotency key, or one twice among them, fails the whole statement', async () => {
    await repository.create(execution('exec_used', { idempotencyKey: 'used' }));
    const againstStored = await repository.createMany([execution('exec_1'), execution('exec_2', { idempotencyKey: 'used' })]).catch((error: unknown) => error);
    expect(isUniqueViolation(againstStored)).toBe(true);
    const inside = await repository
      .createMany([execution('exec_1', { idempotencyKey: 'twice' }), execution('exec_2'), execution('exec_3', { idempotencyKey: 'twice' })])
      .catch((error: unknown) => error);
    expect(isUniqueViolation(inside)).toBe(true);
    expect((await repository.findQueued()).map((row) => row.executionId)).toEqual(['exec_used']);
    await repository.createMany([execution('exec_1', { idempotencyKey: 'twice' }), execution('exec_2')]);
    expect((await repository.findQueued()).map((row) => row.executionId).sort()).toEqual(['exec_1', 'exec_2', 'exec_used']);
  });

  describe('programs: the files, stored once', () => {
    const V1 = Object.freeze({ ...FILES, 'main.py': 'print("version 1")\n' });
    const V2 = Object.freeze({ ...FILES, 'main.py': 'print("version 2")\n' });
    const programs = () =>
      rawQuery<{ id: string; workspace_id: string; workflow_version: number | string }>(
        dataSource,
        'SELECT id, workspace_id, workflow_version FROM programs ORDER BY workspace_id, workflow_version',
        {},
      );
    const stored = async (id: string) =>
      (await rawQuery<{ files: string; program_id: string | null }>(dataSource, 'SELECT files, program_id FROM executions WHERE id = :id', { id }))[0];

    /** A row as the server wrote it before programs: its own files, no program. */
    async function legacyRow(id: string, files: Record<string, string>): Promise<void> {
      await dataSource.getRepository(ExecutionEntity).insert({ ...execution(id), files, programId: null, status: 'completed', completedAt: at(T0) } as never);
    }

    it('stores one program for the executions of one version: each row names it and holds no files, and reads give them back', async () => {
      await repository.create(execution('exec_1', { files: V1 }));
      // An equal copy (not the exporter's frozen object) is the same program; so is another process's insert of it.
      await repository.createMany([execution('exec_2', { files: V1 }), execution('exec_3', { files: { ...V1 } })]);
      await repositoryOf(dataSource).create(execution('exec_4', { files: V1 }));
      const [program] = await programs();
      expect(await programs()).toEqual([{ id: programId('ws_a', JSON.stringify(V1)), workspace_id: 'ws_a', workflow_version: expect.anything() }]);
      for (const id of ['exec_1', 'exec_2', 'exec_3', 'exec_4']) {
        expect(await stored(id)).toEqual({ files: '', program_id: program.id });
        expect((await repository.findToRun(id))?.files).toEqual(V1);
        expect(await repository.findFiles(id)).toEqual({ id, workspaceId: 'ws_a', files: V1 });
      }
      // A fresh process (nothing cached) reads it from the table.
      expect((await repositoryOf(dataSource).findToRun('exec_1'))?.files).toEqual(V1);
    });

    it('gives a new version its own program, and the same files in another workspace theirs', async () => {
      await repository.create(execution('exec_1', { files: V1 }));
      await repository.create(execution('exec_2', { files: V2, workflowVersion: 2 }));
      await repository.create(execution('exec_3', { files: V1, workspaceId: 'ws_b' }));
      expect((await programs()).map((row) => [row.workspace_id, Number(row.workflow_version)])).toEqual([
        ['ws_a', 1],
        ['ws_a', 2],
        ['ws_b', 1],
      ]);
      expect(new Set((await programs()).map((row) => row.id)).size).toBe(3);
      expect((await repository.findToRun('exec_2'))?.files).toEqual(V2);
      expect((await repository.findToRun('exec_3'))?.files).toEqual(V1);
    });

    it('reads a row from before programs by its own files, and a re-run of it stores them as a program', async () => {
      await legacyRow('exec_old', V1);
      expect(await stored('exec_old')).toEqual({ files: JSON.stringify(V1), program_id: null });
      const old = await repository.findToRun('exec_old');
      expect(old?.files).toEqual(V1);
      expect(await repository.findFiles('exec_old')).toEqual({ id: 'exec_old', workspaceId: 'ws_a', files: V1 });
      await repository.create(execution('exec_rerun', { files: old!.files }));
      expect((await stored('exec_rerun')).program_id).toBe(programId('ws_a', JSON.stringify(V1)));
      expect((await repository.findToRun('exec_rerun'))?.files).toEqual(V1);
    });

    it('stores a program again when another process deleted it while this one still knew it as stored', async () => {
      await repository.create(execution('exec_1', { files: V1 }));
      await rawQuery(dataSource, 'DELETE FROM executions', {});
      await rawQuery(dataSource, 'DELETE FROM programs', {});
      // The foreign key refuses the row without its program; the repository stores the program, then the row.
      await repository.createMany([execution('exec_2', { files: V1 }), execution('exec_3', { files: V1 })]);
      expect(await programs()).toHaveLength(1);
      expect((await repository.findToRun('exec_3'))?.files).toEqual(V1);
    });

    it('purges the programs no execution uses, and never one in use nor the current version of its workflow', async () => {
      const purge = new ExecutionPurge(dataSource, new ProgramsRepository(dataSource.getRepository(ProgramEntity)));
      await rawQuery(
        dataSource,
        "INSERT INTO workflows (id, workspace_id, name, description, version, nodes, edges, created_at, updated_at) VALUES ('wf_a', 'ws_a', 'a', '', 2, '[]', '[]', :at, :at)",
        { at: T0 },
      );
      const V3 = Object.freeze({ ...FILES, 'main.py': 'print("version 3")\n' });
      await repository.create(execution('exec_v1', { files: V1 }));
      await repository.create(execution('exec_v2', { files: V2, workflowVersion: 2 }));
      await repository.create(execution('exec_v3', { files: V3, workflowVersion: 3 }));
      await repository.create(execution('exec_b', { files: V1, workspaceId: 'ws_b' }));
      await repository.create(execution('exec_v1_again', { files: V1 }));
      for (const id of ['exec_v1', 'exec_v2', 'exec_v3', 'exec_b']) await repository.finish(id, failed(at(T0)), { from: ['queued'] });
      await purge.purge(['exec_v1', 'exec_v2', 'exec_v3', 'exec_b']);
      // v1: still used by exec_v1_again; v2: the workflow's current version; v3: used by nothing; ws_b is another workspace.
      expect(await purge.purgePrograms('ws_a', 10)).toMatchObject({ programs: 1 });
      expect((await programs()).map((row) => [row.workspace_id, Number(row.workflow_version)])).toEqual([
        ['ws_a', 1],
        ['ws_a', 2],
        ['ws_b', 1],
      ]);
      expect((await repository.findToRun('exec_v1_again'))?.files).toEqual(V1);
      // A batch at a time: once exec_v1_again goes too, v1 and ws_b's go, one per call with a batch of 1.
      await repository.finish('exec_v1_again', failed(at(T0)), { from: ['queued'] });
      await purge.purge(['exec_v1_again']);
      expect(await purge.purgePrograms('ws_a', 1)).toMatchObject({ programs: 1 });
      expect(await purge.purgePrograms('ws_a', 1)).toMatchObject({ programs: 0 });
      expect(await purge.purgePrograms('ws_b', 1)).toMatchObject({ programs: 1 });
      expect((await programs()).map((row) => [row.workspace_id, Number(row.workflow_version)])).toEqual([['ws_a', 2]]);
      // This process deleted v1: it stores it again for the next execution of it.
      await repository.create(execution('exec_v1_later', { files: V1 }));
      expect((await repository.findToRun('exec_v1_later'))?.files).toEqual(V1);
    });

    it('gives each row its files back when the migration is undone, before the programs go', async () => {
      await legacyRow('exec_old', V2);
      await repository.createMany([execution('exec_1', { files: V1 }), execution('exec_2', { files: V1 })]);
      await dataSource.undoLastMigration({ transaction: 'each' });
      const rows = await rawQuery<{ id: string; files: string }>(dataSource, 'SELECT id, files FROM executions ORDER BY id', {});
      expect(rows.map((row) => [row.id, JSON.parse(row.files) as unknown])).toEqual([
        ['exec_1', V1],
        ['exec_2', V1],
        ['exec_old', V2],
      ]);
      await runMigrationsExclusively(dataSource);
      expect((await repository.findToRun('exec_1'))?.files).toEqual(V1);
    });

    it("deletes a workspace with its programs, and leaves the other workspaces' alone", async () => {
      await repository.create(execution('exec_a', { files: V1 }));
      await repository.create(execution('exec_b', { files: V1, workspaceId: 'ws_b' }));
      await rawQuery(dataSource, "DELETE FROM workspaces WHERE id = 'ws_b'", {});
      expect((await programs()).map((row) => row.workspace_id)).toEqual(['ws_a']);
      expect(await repository.find('exec_b')).toBeNull();
      expect((await repository.findToRun('exec_a'))?.files).toEqual(V1);
    });
  });

  describe('group commit (ExecutionCommits)', () => {
    let queue: InProcessExecutionQueue;
    let commits: ExecutionCommits;
    const waitingIds = () => (queue as unknown as { waiting: { executionId: string }[] }).waiting.map((job) => job.executionId);

    beforeEach(() => {
      // Never started: the jobs it is given stay waiting, where the test reads them.
      queue = new InProcessExecutionQueue(1);
      commits = new ExecutionCommits(repository, queue);
    });

    it('stores a lone execution at once, alone, and queues it once it is stored', async () => {
      const createMany = jest.spyOn(repository, 'createMany');
      const committed = commits.commit(execution('exec_1'), 2);
      expect(createMany).toHaveBeenCalledTimes(1);
      expect(createMany.mock.calls[0][0].map((row) => row.id)).toEqual(['exec_1']);
      expect(waitingIds()).toEqual([]);
      expect((await committed).id).toBe('exec_1');
      expect(waitingIds()).toEqual(['exec_1']);
      expect((queue as unknown as { waiting: { workspaceLimit: number }[] }).waiting[0].workspaceLimit).toBe(2);
    });

    it('stores what arrives during a commit together, in statements of at most MAX_ROWS_PER_INSERT rows: every one stored and queued once', async () => {
      const createMany = jest.spyOn(repository, 'createMany');
      const ids = Array.from({ length: MAX_ROWS_PER_INSERT + 11 }, (_, index) => `exec_${index}`);
      const results = await Promise.all(ids.map((id) => commits.commit(execution(id, { createdAt: at(T0) }), 2)));
      expect(results.map((row) => row.id)).toEqual(ids);
      expect(createMany.mock.calls.map(([rows]) => rows.length)).toEqual([1, MAX_ROWS_PER_INSERT, 10]);
      expect(waitingIds().sort()).toEqual([...ids].sort());
      expect((await repository.findQueued()).map((row) => row.executionId).sort()).toEqual([...ids].sort());
    });

    it('stores again one by one a batch that failed: each duplicate key fails alone, its innocent neighbours are stored', async () => {
      await repository.create(execution('exec_stored', { idempotencyKey: 'stored' }));
      const createMany = jest.spyOn(repository, 'createMany');
      const lead = commits.commit(execution('exec_lead'), 2);
      const batch = [
        execution('exec_k1', { idempotencyKey: 'k' }),
        execution('exec_a'),
        execution('exec_k2', { idempotencyKey: 'k' }),
        execution('exec_s', { idempotencyKey: 'stored' }),
        execution('exec_b', { workspaceId: 'ws_b', idempotencyKey: 'k' }),
      ].map((fields) =>
        commits.commit(fields, 2).then(
          (row) => ({ id: fields.id, stored: row.id }),
          (error: unknown) => ({ id: fields.id, uniqueViolation: isUniqueViolation(error) }),
        ),
      );
      await lead;
      const outcomes = await Promise.all(batch);
      // The lead alone, the five together (refused), then each of the five alone.
      expect(createMany.mock.calls.map(([rows]) => rows.length)).toEqual([1, 5, 1, 1, 1, 1, 1]);
      // Of the two with key k in ws_a, one is stored and the other fails (which one, the database decides: they race).
      const k = outcomes.filter((outcome) => outcome.id === 'exec_k1' || outcome.id === 'exec_k2');
      expect(k.filter((outcome) => 'stored' in outcome)).toHaveLength(1);
      expect(k.filter((outcome) => 'uniqueViolation' in outcome && outcome.uniqueViolation)).toHaveLength(1);
      expect(outcomes.filter((outcome) => !outcome.id.startsWith('exec_k'))).toEqual([
        { id: 'exec_a', stored: 'exec_a' },
        { id: 'exec_s', uniqueViolation: true },
        { id: 'exec_b', stored: 'exec_b' },
      ]);
      const stored = ['exec_stored', 'exec_lead', 'exec_a', 'exec_b', ...k.filter((outcome) => 'stored' in outcome).map((outcome) => outcome.id)].sort();
      expect((await repository.findQueued()).map((row) => row.executionId).sort()).toEqual(stored);
      expect(waitingIds().sort()).toEqual(stored.filter((id) => id !== 'exec_stored'));
    });

    it('fails each caller with its own error when the database refuses every row, and stays usable', async () => {
      const lead = commits.commit(execution('exec_lead'), 2);
      const missing = [
        commits.commit(execution('exec_x', { workspaceId: null as unknown as string }), 2),
        commits.commit(execution('exec_y', { workflowId: null as unknown as string }), 2),
      ];
      await lead;
      const errors = await Promise.all(
        missing.map((promise) =>
          promise.then(
            () => null,
            (error: unknown) => error,
          ),
        ),
      );
      expect(errors.every((error) => error instanceof Error && !isUniqueViolation(error))).toBe(true);
      expect((await commits.commit(execution('exec_after'), 2)).id).toBe('exec_after');
      expect(waitingIds()).toEqual(['exec_lead', 'exec_after']);
    });
  });
}

describe(`${ExecutionsRepository.name} (SQLite file)`, () => {
  executionsRepositoryCases(() => {
    const dir = mkdtempSync(join(tmpdir(), 'tensorify-executions-'));
    return openMigrated({ type: 'sqlite', path: join(dir, 'tensorify.db') }, () => rmSync(dir, { recursive: true, force: true }));
  });
});
