import { statSync } from 'node:fs';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { ID_PREFIX, newId } from '../../src/common/ids';
import { ExecutionEntity, ExecutionLogEntity, type ExecutionStatus } from '../../src/executions/execution.entity';
import { RETENTION_LOCK_KEY, RetentionJob } from '../../src/retention/retention-job';
import { parsePrometheusText, valueOf } from '../support/prometheus';
import { TestApp, useTestApp } from '../support/test-app';

const DAY_MS = 24 * 60 * 60 * 1000;
const FILES = { 'main.py': 'print("hello")\n', 'requirements.txt': '' };

interface Seed {
  status?: ExecutionStatus;
  /** Days before the fake clock's now that it was created and (when finished) completed. */
  daysAgo: number;
  logLines?: number;
  lineLength?: number;
}

/** Stores an execution row (and its log lines) as a run would have left it: no python needed to have a 10-day-old run. */
async function seed(t: TestApp, workspaceId: string, { status = 'completed', daysAgo, logLines = 3, lineLength = 20 }: Seed): Promise<string> {
  const dataSource = t.app.get(DataSource);
  const at = new Date(t.clock.now() - daysAgo * DAY_MS);
  const finished = !['queued', 'running'].includes(status);
  const id = newId(ID_PREFIX.execution);
  await dataSource.getRepository(ExecutionEntity).insert({
    id,
    workspaceId,
    workflowId: newId(ID_PREFIX.workflow),
    workflowVersion: 1,
    status,
    executor: 'local',
    gpu: false,
    inputs: {},
    timeoutSeconds: 60,
    files: FILES,
    output: finished ? { ok: true } : null,
    logCount: logLines,
    createdAt: at,
    startedAt: status === 'queued' ? null : at,
    completedAt: finished ? at : null,
    triggerType: 'api',
  } as never);
  const line = 'x'.repeat(lineLength);
  const rows = Array.from({ length: logLines }, (_, seq) => ({ executionId: id, seq, stream: 'stdout', line }));
  for (let start = 0; start < rows.length; start += 200) await dataSource.getRepository(ExecutionLogEntity).insert(rows.slice(start, start + 200));
  return id;
}

async function logCount(t: TestApp, executionId: string): Promise<number> {
  return t.app.get(DataSource).getRepository(ExecutionLogEntity).countBy({ executionId });
}

describe('Retention', () => {
  const t = useTestApp({ TENSORIFY_RETENTION_INTERVAL_SECONDS: '0' });
  const admin = () => t.bearer(t.adminKey);
  const patch = (id: string, body: object, auth = admin()) => t.http.patch(`/v1/workspaces/${id}`).set('Authorization', auth).send(body);
  const prune = () => t.app.get(RetentionJob).runOnce();

  describe('workspace retentionDays', () => {
    it('shows the plan default: free 7, pro 30, enterprise 90', async () => {
      for (const [plan, days] of [
        ['free', 7],
        ['pro', 30],
        ['enterprise', 90],
      ] as const) {
        const id = await t.createWorkspace(plan);
        const res = await t.http.get(`/v1/workspaces/${id}`).set('Authorization', admin()).expect(200);
        expect(res.body).toMatchObject({ plan, retentionDays: days, retentionDaysOverridden: false });
      }
    });

    it('PATCH sets a number of its own, and null returns to the plan default', async () => {
      const id = await t.createWorkspace('pro');
      expect((await patch(id, { retentionDays: 365 }).expect(200)).body).toMatchObject({ retentionDays: 365, retentionDaysOverridden: true });
      expect((await t.http.get(`/v1/workspaces/${id}`).set('Authorization', admin()).expect(200)).body.retentionDays).toBe(365);
      // A change of plan keeps the workspace's own number.
      expect((await patch(id, { plan: 'free' }).expect(200)).body).toMatchObject({ plan: 'free', retentionDays: 365 });
      expect((await patch(id, { retentionDays: null }).expect(200)).body).toMatchObject({ retentionDays: 7, retentionDaysOverridden: false });
    });

    it.each([0, -1, 3651, 1.5, '7', true, {}])('refuses retentionDays %p with 400 VALIDATION_ERROR naming the field', async (value) => {
      const id = await t.createWorkspace('free');
      const res = await patch(id, { retentionDays: value }).expect(400);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
      expect(res.body.error.details.fields).toHaveProperty('retentionDays');
      expect((await t.http.get(`/v1/workspaces/${id}`).set('Authorization', admin()).expect(200)).body.retentionDays).toBe(7);
    });

    it('accepts the bounds 1 and 3650', async () => {
      const id = await t.createWorkspace('free');
      expect((await patch(id, { retentionDays: 1 }).expect(200)).body.retentionDays).toBe(1);
      expect((await patch(id, { retentionDays: 3650 }).expect(200)).body.retentionDays).toBe(3650);
    });

    it('is admin only: a workspace key with every other scope gets 403', async () => {
      const id = await t.createWorkspace('free');
      const { key } = await t.createKey(id);
      const res = await patch(id, { retentionDays: 1 }, t.bearer(key)).expect(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
      expect((await t.http.get(`/v1/workspaces/${id}`).set('Authorization', admin()).expect(200)).body.retentionDaysOverridden).toBe(false);
    });
  });

  describe('the pruning job', () => {
    it("deletes finished executions older than the workspace's retention with their logs and files, and keeps the rest", async () => {
      const ws = await t.createWorkspace('free');
      const { key } = await t.createKey(ws);
      const auth = t.bearer(key);
      const oldOnes = await Promise.all(
        (['completed', 'failed', 'cancelled', 'timed_out'] as const).map((status) => seed(t, ws, { status, daysAgo: 8, logLines: 450 })),
      );
      const recent = await seed(t, ws, { daysAgo: 6 });
      const oldRunning = await seed(t, ws, { status: 'running', daysAgo: 30 });
      const oldQueued = await seed(t, ws, { status: 'queued', daysAgo: 30 });

      const before = await t.http.get(`/v1/executions/${oldOnes[0]}/files`).set('Authorization', auth).expect(200);
      expect(before.body.files).toEqual(FILES);
      const run = await prune();
      expect(run.ran).toBe(true);
      expect(run.executions).toBeGreaterThanOrEqual(4);

      for (const id of oldOnes) {
        await t.http.get(`/v1/executions/${id}`).set('Authorization', auth).expect(404);
        await t.http.get(`/v1/executions/${id}/files`).set('Authorization', auth).expect(404);
        expect(await logCount(t, id)).toBe(0);
      }
      for (const id of [recent, oldRunning, oldQueued]) await t.http.get(`/v1/executions/${id}`).set('Authorization', auth).expect(200);
      expect(await logCount(t, recent)).toBe(3);

      // Time passes: the recent one reaches the retention too.
      t.clock.advance(2 * DAY_MS);
      await prune();
      await t.http.get(`/v1/executions/${recent}`).set('Authorization', auth).expect(404);
      await t.http.get(`/v1/executions/${oldRunning}`).set('Authorization', auth).expect(200);
    });

    it("uses each workspace's own retention", async () => {
      const free = await t.createWorkspace('free');
      const pro = await t.createWorkspace('pro');
      const enterprise = await t.createWorkspace('enterprise');
      const custom = await t.createWorkspace('enterprise');
      await patch(custom, { retentionDays: 2 }).expect(200);
      const ids = {
        free: await seed(t, free, { daysAgo: 10 }),
        pro: await seed(t, pro, { daysAgo: 10 }),
        proOld: await seed(t, pro, { daysAgo: 31 }),
        enterprise: await seed(t, enterprise, { daysAgo: 31 }),
        enterpriseOld: await seed(t, enterprise, { daysAgo: 91 }),
        custom: await seed(t, custom, { daysAgo: 3 }),
      };
      await prune();
      const repo = t.app.get(DataSource).getRepository(ExecutionEntity);
      const left = async (id: string) => (await repo.countBy({ id })) === 1;
      expect({
        free: await left(ids.free),
        pro: await left(ids.pro),
        proOld: await left(ids.proOld),
        enterprise: await left(ids.enterprise),
        enterpriseOld: await left(ids.enterpriseOld),
        custom: await left(ids.custom),
      }).toEqual({ free: false, pro: true, proOld: false, enterprise: true, enterpriseOld: false, custom: false });
    });

    it('counts the rows it pruned in tensorify_retention_pruned_rows_total', async () => {
      const read = async (table: string) =>
        valueOf(parsePrometheusText((await t.http.get('/metrics').expect(200)).text), 'tensorify_retention_pruned_rows_total', { table });
      const [executions, logs] = [await read('executions'), await read('execution_logs')];
      const ws = await t.createWorkspace('free');
      await seed(t, ws, { daysAgo: 9, logLines: 5 });
      await seed(t, ws, { daysAgo: 9, logLines: 7 });
      await prune();
      expect(await read('executions')).toBe(executions + 2);
      expect(await read('execution_logs')).toBe(logs + 12);
    });
  });

  describe('DELETE /v1/executions/:id', () => {
    it('deletes a finished execution now (204), with its logs; then it is 404', async () => {
      const ws = await t.createWorkspace('pro');
      const { key } = await t.createKey(ws);
      const id = await seed(t, ws, { daysAgo: 0, logLines: 10 });
      await t.http.delete(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(204);
      await t.http.get(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(404);
      expect(await logCount(t, id)).toBe(0);
      const again = await t.http.delete(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(404);
      expect(again.body.error.code).toBe('EXECUTION_NOT_FOUND');
    });

    it.each(['queued', 'running'] as const)('refuses a %s execution with 409 CONFLICT and keeps it', async (status) => {
      const ws = await t.createWorkspace('pro');
      const { key } = await t.createKey(ws);
      const id = await seed(t, ws, { status, daysAgo: 0 });
      const res = await t.http.delete(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(409);
      expect(res.body.error).toMatchObject({ code: 'CONFLICT', details: { status } });
      await t.http.get(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(200);
    });

    it("is 404 for another workspace's execution, which stays", async () => {
      const mine = await t.createWorkspace('pro');
      const theirs = await t.createWorkspace('pro');
      const { key } = await t.createKey(mine);
      const { key: theirKey } = await t.createKey(theirs);
      const id = await seed(t, theirs, { daysAgo: 0 });
      const res = await t.http.delete(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(404);
      expect(res.body.error.code).toBe('EXECUTION_NOT_FOUND');
      await t.http.get(`/v1/executions/${id}`).set('Authorization', t.bearer(theirKey)).expect(200);
    });

    it('needs executions:run (a read-only key gets 403)', async () => {
      const ws = await t.createWorkspace('pro');
      const { key } = await t.createKey(ws, ['executions:read']);
      const id = await seed(t, ws, { daysAgo: 0 });
      await t.http.delete(`/v1/executions/${id}`).set('Authorization', t.bearer(key)).expect(403);
    });
  });
});

describe('Retention on SQLite: the file gives the space back', () => {
  const t = useTestApp({ TENSORIFY_RETENTION_INTERVAL_SECONDS: '0' });

  it('runs with incremental auto_vacuum, and the file shrinks after pruning', async () => {
    const dataSource = t.app.get(DataSource);
    if (dataSource.options.type !== 'sqlite') return; // the PostgreSQL run of the suite has no file to measure
    const [mode] = await dataSource.query('PRAGMA auto_vacuum');
    expect(Number(mode.auto_vacuum)).toBe(2);
    const file = t.config.database.type === 'sqlite' ? t.config.database.path : '';
    const ws = await t.createWorkspace('free');
    for (let i = 0; i < 40; i++) await seed(t, ws, { daysAgo: 30, logLines: 400, lineLength: 250 });
    await dataSource.query('PRAGMA wal_checkpoint(TRUNCATE)');
    const grown = statSync(file).size;
    expect(grown).toBeGreaterThan(4_000_000);
    const run = await t.app.get(RetentionJob).runOnce();
    expect(run.executions).toBe(40);
    await dataSource.query('PRAGMA wal_checkpoint(TRUNCATE)');
    expect(statSync(file).size).toBeLessThan(grown / 4);
  });

  it('turns incremental auto_vacuum on in a file made without it (one VACUUM at boot)', async () => {
    const dataSource = t.app.get(DataSource);
    if (dataSource.options.type !== 'sqlite') return;
    await dataSource.query('PRAGMA auto_vacuum = NONE');
    await dataSource.query('VACUUM');
    expect(Number((await dataSource.query('PRAGMA auto_vacuum'))[0].auto_vacuum)).toBe(0);
    await t.restart({ TENSORIFY_RETENTION_INTERVAL_SECONDS: '0' });
    expect(Number((await t.app.get(DataSource).query('PRAGMA auto_vacuum'))[0].auto_vacuum)).toBe(2);
  });
});

describe('Retention on PostgreSQL: one process at a time', () => {
  const t = useTestApp({ TENSORIFY_RETENTION_INTERVAL_SECONDS: '0' });

  it('skips a pass while another process holds the retention lock, and runs once it is free', async () => {
    const dataSource = t.app.get(DataSource);
    if (dataSource.options.type !== 'postgres') return; // SQLite is one process: no lock (the e2e-postgres project runs this)
    const ws = await t.createWorkspace('free');
    const old = await seed(t, ws, { daysAgo: 8 });
    // Another process's pass: the same advisory lock, held on a connection of its own.
    const other = new Client({ connectionString: (t.config.database as { url: string }).url });
    await other.connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [RETENTION_LOCK_KEY]);
      expect(await t.app.get(RetentionJob).runOnce()).toEqual({ ran: false, executions: 0, logLines: 0 });
      expect(await dataSource.getRepository(ExecutionEntity).countBy({ id: old })).toBe(1);
      await other.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
      expect(await t.app.get(RetentionJob).runOnce()).toMatchObject({ ran: true, executions: 1 });
      expect(await dataSource.getRepository(ExecutionEntity).countBy({ id: old })).toBe(0);
    } finally {
      await other.end();
    }
  });
});
