import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { displayPrefix, hashSecret } from '../../src/api-keys/api-key-secret';
import { ApiKeyEntity } from '../../src/api-keys/api-key.entity';
import type { GeneratedFiles } from '../../src/codegen/workflow-compiler';
import { ID_PREFIX, newId } from '../../src/common/ids';
import { loadConfig } from '../../src/config/config';
import { buildDataSourceOptions, MIGRATIONS } from '../../src/database/data-source-options';
import { runMigrationsExclusively } from '../../src/database/migrate';
import { Programs1764300000010 } from '../../src/database/migrations/1764300000010-programs';
import { rawQuery } from '../../src/database/raw-query';
import { RetentionJob } from '../../src/retention/retention-job';
import { WorkspaceEntity } from '../../src/workspaces/workspace.entity';
import { shippedCompiler } from '../support/compiler';
import { createScratchDatabase, postgresAdminUrl } from '../support/postgres';
import { ADMIN_AUTH, startTestApp, type TestApp, TEST_ADMIN_KEY } from '../support/test-app';
import { waitFor } from '../support/wait-for';
import { MINIMAL_WORKFLOW } from '../support/workflows';

const DAY_MS = 24 * 60 * 60 * 1000;
const T0 = new Date('2026-11-28T12:00:00.000Z');
const finished = (execution: { status: string }) => !['queued', 'running'].includes(execution.status);

/**
 * Executions stored before programs existed (a database made by the migrations up to
 * 1764300000009, with rows that hold their own files), after the server that has programs has
 * migrated it: they still run, re-run and serve their files. On a SQLite file, and on PostgreSQL in
 * the e2e-postgres project.
 */
describe('Programs: executions stored before them', () => {
  let t: TestApp;
  let dataDir: string;
  let scratch: { url: string; drop: () => Promise<void> } | undefined;
  let files: GeneratedFiles;
  let workspaceId: string;
  const workflowId = newId(ID_PREFIX.workflow);
  const done = newId(ID_PREFIX.execution);
  const queued = newId(ID_PREFIX.execution);

  const get = async (path: string) => (await t.http.get(path).set('Authorization', ADMIN_AUTH).expect(200)).body;
  const waitForExecution = (id: string) => waitFor(() => get(`/v1/executions/${id}`), finished, { timeoutMs: 30_000, what: `execution ${id}` });
  const row = async (id: string) =>
    (await rawQuery<{ files: string; program_id: string | null }>(t.app.get(DataSource), 'SELECT files, program_id FROM executions WHERE id = :id', { id }))[0];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'tensorify-programs-'));
    const adminUrl = postgresAdminUrl();
    scratch = adminUrl ? await createScratchDatabase(adminUrl) : undefined;
    const env = { TENSORIFY_DATA_DIR: dataDir, ...(scratch ? { TENSORIFY_DATABASE_URL: scratch.url } : {}) };
    const before = await new DataSource({
      ...buildDataSourceOptions(loadConfig(env)),
      migrations: MIGRATIONS.slice(0, MIGRATIONS.indexOf(Programs1764300000010)),
      entities: [WorkspaceEntity, ApiKeyEntity],
    }).initialize();
    await runMigrationsExclusively(before);
    workspaceId = newId(ID_PREFIX.workspace);
    await before
      .getRepository(WorkspaceEntity)
      .insert({ id: workspaceId, name: 'default', plan: 'enterprise', rateLimitPerMinute: null, retentionDays: null, createdAt: T0, updatedAt: T0 });
    await before.getRepository(ApiKeyEntity).insert({
      id: newId(ID_PREFIX.apiKey),
      workspaceId,
      name: 'admin',
      prefix: displayPrefix(TEST_ADMIN_KEY),
      secretHash: hashSecret(TEST_ADMIN_KEY),
      scopes: ['admin'],
      createdAt: T0,
      expiresAt: null,
      revokedAt: null,
      lastUsedAt: null,
    });
    files = (await shippedCompiler()).compile({ id: workflowId, version: 1, description: '', ...MINIMAL_WORKFLOW });
    // The columns of the executions table at migration 1764300000009; the files in the row.
    const insert = (id: string, status: string, name: string, output: unknown) =>
      rawQuery(
        before,
        `INSERT INTO executions (id, workspace_id, workflow_id, workflow_version, status, executor, gpu, inputs, timeout_seconds, files, output, log_count, created_at, completed_at, trigger_type)
         VALUES (:id, :workspaceId, :workflowId, 1, :status, 'local', :gpu, :inputs, 60, :files, :output, 0, :createdAt, :completedAt, 'api')`,
        {
          id,
          workspaceId,
          workflowId,
          status,
          gpu: false,
          inputs: JSON.stringify({ name }),
          files: JSON.stringify(files),
          output: output === null ? null : JSON.stringify(output),
          createdAt: T0.toISOString(),
          completedAt: status === 'completed' ? T0.toISOString() : null,
        },
      );
    await insert(done, 'completed', 'Ada', { result: 'Ada' });
    await insert(queued, 'queued', 'Grace', null);
    await before.destroy();
    t = await startTestApp(env);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await scratch?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs a row that was queued before the upgrade, from its own files', async () => {
    expect(await waitForExecution(queued)).toMatchObject({ status: 'completed', output: { result: 'Grace' } });
    expect(await row(queued)).toEqual({ files: JSON.stringify(files), program_id: null });
  });

  it('serves the files of a row from before the upgrade', async () => {
    expect((await get(`/v1/executions/${done}/files`)).files).toEqual(files);
  });

  it('re-runs a row from before the upgrade: the new execution runs the same files, stored as a program', async () => {
    const res = await t.http.post(`/v1/executions/${done}/rerun`).set('Authorization', ADMIN_AUTH).expect(202);
    const rerun = res.body.executionId as string;
    expect(await waitForExecution(rerun)).toMatchObject({ status: 'completed', output: { result: 'Ada' }, trigger: { type: 'rerun', executionId: done } });
    expect((await get(`/v1/executions/${rerun}/files`)).files).toEqual(files);
    const stored = await row(rerun);
    expect(stored.files).toBe('');
    expect(stored.program_id).toMatch(/^[0-9a-f]{64}$/);
    // A second re-run shares the program.
    const again = (await t.http.post(`/v1/executions/${done}/rerun`).set('Authorization', ADMIN_AUTH).expect(202)).body.executionId as string;
    await waitForExecution(again);
    expect((await row(again)).program_id).toBe(stored.program_id);
    expect(await rawQuery(t.app.get(DataSource), 'SELECT id FROM programs', {})).toEqual([{ id: stored.program_id }]);
  });

  it('prunes the program with the last execution that used it (its workflow no longer exists), and not before', async () => {
    const programs = () => rawQuery<{ id: string }>(t.app.get(DataSource), 'SELECT id FROM programs', {});
    expect(await programs()).toHaveLength(1);
    // Everything so far is past the enterprise plan's 90 days: the re-runs go, then their program.
    t.clock.advance(91 * DAY_MS);
    const kept = (await t.http.post(`/v1/executions/${done}/rerun`).set('Authorization', ADMIN_AUTH).expect(202)).body.executionId as string;
    await waitForExecution(kept);
    await t.app.get(RetentionJob).runOnce();
    expect(await programs()).toHaveLength(1);
    expect((await get(`/v1/executions/${kept}/files`)).files).toEqual(files);
    t.clock.advance(91 * DAY_MS);
    await t.app.get(RetentionJob).runOnce();
    await t.http.get(`/v1/executions/${kept}`).set('Authorization', ADMIN_AUTH).expect(404);
    expect(await programs()).toEqual([]);
  });
});
