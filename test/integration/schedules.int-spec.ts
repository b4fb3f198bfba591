import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScratchDatabase } from '../support/postgres';
import { parsePrometheusText, valueOf } from '../support/prometheus';
import { REDIS_URL } from '../support/redis';
import { POSTGRES_ADMIN_URL } from '../support/server-cluster';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * Schedules in the distributed mode as real processes: two API-only instances and two workers,
 * every one of them running a scheduler, on one PostgreSQL database and Redis.
 */
const ADMIN_KEY = 'tfy_ScheduleClusterAdminKey0123456789abcdefg';
const AUTH = { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' };
const FIRE_EVERY_MS = 2000;
const SCHEDULE_FOR_MS = 40_000;

const workflow = (cron: string) => ({
  name: 'Every two seconds',
  nodes: [
    { id: 'trigger', type: 'schedule', settings: { cron, inputs: { source: 'cluster' } } },
    { id: 'out', type: 'return', settings: { value: { source: '{{ trigger.source }}' } } },
  ],
  edges: [{ source: 'trigger', target: 'out' }],
});

interface Execution {
  id: string;
  status: string;
  trigger: { type: string; fireTime: string };
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, { method, headers: AUTH, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('Schedules in the distributed mode: two API instances and two workers', () => {
  let database: { url: string; drop: () => Promise<void> };
  const apis: ServerProcess[] = [];
  const workers: WorkerProcess[] = [];
  const dataDirs: string[] = [];
  let env: Record<string, string>;

  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tensorify-schedules-'));
    dataDirs.push(dir);
    return dir;
  };

  beforeAll(async () => {
    database = await createScratchDatabase(POSTGRES_ADMIN_URL);
    env = {
      TENSORIFY_DATABASE_URL: database.url,
      TENSORIFY_REDIS_URL: REDIS_URL,
      TENSORIFY_BOOTSTRAP_API_KEY: ADMIN_KEY,
      TENSORIFY_LOG_LEVEL: 'warn',
      TENSORIFY_EXECUTION_CONCURRENCY: '4',
      TENSORIFY_ENTERPRISE_CONCURRENT_EXECUTIONS: '8',
      TENSORIFY_ENTERPRISE_RATE_LIMIT: '1000000',
    };
    // The first instance migrates the database and bootstraps the key; the others start after it.
    apis.push(await startServerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir(), TENSORIFY_PROCESS_EXECUTIONS: 'false' }));
    apis.push(await startServerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir(), TENSORIFY_PROCESS_EXECUTIONS: 'false' }));
    workers.push(...(await Promise.all([0, 1].map(() => startWorkerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir() })))));
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...apis, ...workers].map((process) => process.stop('SIGKILL')));
    await database?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  async function scheduledRuns(workflowId: string): Promise<Execution[]> {
    const runs: Execution[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `/v1/executions?workflowId=${workflowId}&trigger=schedule&limit=200${cursor ? `&cursor=${cursor}` : ''}`;
      const { status, body } = await call(apis[0].baseUrl, 'GET', query);
      expect(status).toBe(200);
      runs.push(...(body.executions as Execution[]));
      cursor = body.nextCursor as string | null;
    } while (cursor);
    return runs;
  }

  /**
   * Checks that sorted fire times are every `everyMs` without a gap or a repeat: from the first fire
   * time after the save (sent at `sentAt`, answered at `savedAt`) to at least `until` (a margin
   * before the pause, which a busy machine may reach before the last fire times are handled), and
   * none later than the pause.
   */
  function expectEveryFireTime(fireTimes: string[], everyMs: number, save: { sentAt: number; savedAt: number }, until: number, pausedAt: number): void {
    const times = fireTimes.map(Date.parse);
    expect(times[0]).toBeGreaterThan(save.sentAt);
    expect(times[0]).toBeLessThanOrEqual(Math.floor(save.savedAt / everyMs) * everyMs + everyMs);
    expect(fireTimes).toEqual(times.map((_, index) => new Date(times[0] + index * everyMs).toISOString()));
    expect(times.at(-1)).toBeGreaterThanOrEqual(until);
    expect(times.at(-1)).toBeLessThan(pausedAt + everyMs);
  }

  /** Fire times each process handled so far (started or deduplicated), from its /metrics. */
  async function handledPerProcess(): Promise<number[]> {
    const urls = [...apis.map((api) => `${api.baseUrl}/metrics`), ...workers.map((worker) => worker.healthUrl.replace(/\/health$/, '/metrics'))];
    return Promise.all(
      urls.map(async (url) => {
        const families = parsePrometheusText(await (await fetch(url)).text());
        return ['started', 'deduplicated'].reduce((sum, outcome) => sum + valueOf(families, 'tensorify_schedule_fires_total', { outcome }), 0);
      }),
    );
  }

  it('starts exactly one execution for every fire time of a 2-second schedule over 40 s, none missing, and each runs to completion', async () => {
    const sentAt = Date.now();
    const created = await call(apis[0].baseUrl, 'POST', '/v1/workflows', workflow('*/2 * * * * *'));
    const savedAt = Date.now();
    expect(created.status).toBe(201);
    const id = created.body.id as string;

    await sleep(SCHEDULE_FOR_MS);
    const pausedAt = Date.now();
    expect((await call(apis[1].baseUrl, 'PATCH', `/v1/workflows/${id}/schedule`, { paused: true })).status).toBe(200);
    // A fire time in flight when the pause landed may still start; nothing after it does.
    await sleep(3000);

    const runs = await scheduledRuns(id);
    const fireTimes = runs.map((run) => run.trigger.fireTime).sort();
    expect(fireTimes.length).toBeGreaterThanOrEqual(SCHEDULE_FOR_MS / FIRE_EVERY_MS - 3);
    expectEveryFireTime(fireTimes, FIRE_EVERY_MS, { sentAt, savedAt }, pausedAt - 5000, pausedAt);

    // Every process fired (its timer woke at each fire time); between them they started each run once.
    const metrics = await Promise.all(
      [...apis.map((api) => `${api.baseUrl}/metrics`), ...workers.map((worker) => worker.healthUrl.replace(/\/health$/, '/metrics'))].map(async (url) =>
        parsePrometheusText(await (await fetch(url)).text()),
      ),
    );
    const fires = (outcome: string) => metrics.map((families) => valueOf(families, 'tensorify_schedule_fires_total', { outcome }));
    expect(fires('started').reduce((sum, count) => sum + count, 0)).toBe(fireTimes.length);
    expect(fires('failed')).toEqual([0, 0, 0, 0]);
    expect((await handledPerProcess()).every((handled) => handled > 0)).toBe(true);

    const schedule = (await call(apis[0].baseUrl, 'GET', `/v1/workflows/${id}/schedule`)).body;
    expect(schedule).toMatchObject({ paused: true, lastRunAt: fireTimes.at(-1) });

    const deadline = Date.now() + 60_000;
    let statuses = runs.map((run) => run.status);
    while (statuses.some((status) => status === 'queued' || status === 'running') && Date.now() < deadline) {
      await sleep(500);
      statuses = (await scheduledRuns(id)).map((run) => run.status);
    }
    expect(new Set(statuses)).toEqual(new Set(['completed']));
  }, 150_000);

  it('fires by a cron edited on one instance at every process, without a restart, once per fire time', async () => {
    const created = await call(apis[0].baseUrl, 'POST', '/v1/workflows', workflow('0 0 1 1 *'));
    const id = created.body.id as string;
    const before = await handledPerProcess();
    const sentAt = Date.now();
    const edited = await call(apis[1].baseUrl, 'PUT', `/v1/workflows/${id}`, workflow('*/3 * * * * *'));
    const savedAt = Date.now();
    expect(edited.status).toBe(200);
    await sleep(15_000);
    const pausedAt = Date.now();
    await call(apis[0].baseUrl, 'PATCH', `/v1/workflows/${id}/schedule`, { paused: true });
    await sleep(2000);
    const fireTimes = (await scheduledRuns(id)).map((run) => run.trigger.fireTime).sort();
    expect(fireTimes.length).toBeGreaterThanOrEqual(3);
    expectEveryFireTime(fireTimes, 3000, { sentAt, savedAt }, pausedAt - 5000, pausedAt);
    // The instances that did not take the edit fired by it too: each handled some of its fire times.
    const after = await handledPerProcess();
    expect(after.map((handled, index) => handled - before[index]).every((delta) => delta > 0)).toBe(true);
  }, 60_000);
});
