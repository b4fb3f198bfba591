import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive } from '../support/executions';
import { createScratchDatabase } from '../support/postgres';
import { parsePrometheusText, samplesOf, valueOf } from '../support/prometheus';
import { unusedLoopbackPort } from '../support/redis';
import { POSTGRES_ADMIN_URL } from '../support/server-cluster';
import { type ServerProcess, startServerProcess } from '../support/server-process';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process';

/**
 * The distributed mode as real processes: two API-only instances and two workers on one
 * PostgreSQL database and a Redis of this suite's own (so that it can be restarted mid-load).
 */
const ADMIN_KEY = 'tfy_DistributedTestAdminKey0123456789abcdefgh';
const STALL_SECONDS = 4;
const SLURM_DIR = process.env.TENSORIFY_SLURM_DIR || '/tmp/tensorify-slurm';
const AUTH = { Authorization: `Bearer ${ADMIN_KEY}`, 'Content-Type': 'application/json' };

/** A code node that appends its execution id to `inputs.file` (O_APPEND: one line per run), sleeping `inputs.seconds` first. */
const COUNTER = {
  name: 'Counter',
  nodes: [
    { id: 'trigger', type: 'manual' },
    {
      id: 'step',
      type: 'code',
      settings: {
        code: [
          'import os, time',
          'print("pids", os.getpid(), os.getpid(), flush=True)',
          'start = time.time()',
          'time.sleep(float(input.get("seconds", 0)))',
          'with open(input["file"], "a") as f:',
          '    f.write("%s %f %f\\n" % (os.environ["TENSORIFY_EXECUTION_ID"], start, time.time()))',
          'return {"ok": True}',
        ].join('\n'),
      },
    },
    { id: 'out', type: 'return', settings: { value: '{{ step }}' } },
  ],
  edges: [
    { source: 'trigger', target: 'step' },
    { source: 'step', target: 'out' },
  ],
};

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH) {
  const response = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** A private redis-server on a loopback port, without persistence (like the machine's): a restart loses every key. */
function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (/Ready to accept connections/.test(out)) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out}`)));
  });
}

describe('The distributed mode: two API instances, two workers, PostgreSQL and Redis', () => {
  let redis: ChildProcess;
  let redisPort: number;
  let database: { url: string; drop: () => Promise<void> };
  const apis: ServerProcess[] = [];
  let workers: WorkerProcess[] = [];
  const dataDirs: string[] = [];
  let scratch: string;
  let env: Record<string, string>;
  let counterId: string;
  let slurmWorkDir: string;

  const dataDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tensorify-distributed-'));
    dataDirs.push(dir);
    return dir;
  };
  const startWorkers = async () => {
    workers = await Promise.all([0, 1].map(() => startWorkerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir() })));
  };

  beforeAll(async () => {
    redisPort = await unusedLoopbackPort();
    redis = await startRedis(redisPort);
    database = await createScratchDatabase(POSTGRES_ADMIN_URL);
    scratch = mkdtempSync(join(tmpdir(), 'tensorify-distributed-runs-'));
    execFileSync(join(__dirname, '..', '..', 'scripts', 'ci', 'slurm', 'start-slurm.sh'), { stdio: 'pipe', timeout: 300_000 });
    mkdirSync(join(SLURM_DIR, 'work'), { recursive: true });
    slurmWorkDir = mkdtempSync(join(SLURM_DIR, 'work', 'distributed-'));
    env = {
      TENSORIFY_DATABASE_URL: database.url,
      TENSORIFY_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      TENSORIFY_BOOTSTRAP_API_KEY: ADMIN_KEY,
      TENSORIFY_LOG_LEVEL: 'warn',
      TENSORIFY_WORKER_STALL_SECONDS: String(STALL_SECONDS),
      TENSORIFY_EXECUTION_CONCURRENCY: '4',
      TENSORIFY_ENTERPRISE_CONCURRENT_EXECUTIONS: '8',
      TENSORIFY_ENTERPRISE_RATE_LIMIT: '1000000',
      // The slurm executor too (one-node cluster of scripts/ci/slurm/start-slurm.sh): a worker that died leaves its job to another.
      TENSORIFY_EXECUTORS: JSON.stringify({ slurm: { workDir: slurmWorkDir, pollSeconds: 0.3 } }),
    };
    // The first instance migrates the database and bootstraps the key; the others start after it.
    apis.push(await startServerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir(), TENSORIFY_PROCESS_EXECUTIONS: 'false' }));
    apis.push(await startServerProcess({ ...env, TENSORIFY_DATA_DIR: dataDir(), TENSORIFY_PROCESS_EXECUTIONS: 'false' }));
    await startWorkers();
    const created = await call(apis[0].baseUrl, 'POST', '/v1/workflows', COUNTER);
    expect(created.status).toBe(201);
    counterId = created.body.id;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...apis, ...workers].map((process) => process.stop('SIGKILL')));
    redis?.kill('SIGKILL');
    await database?.drop();
    for (const dir of [...dataDirs, scratch, slurmWorkDir]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function execute(api: ServerProcess, inputs: object, key = ADMIN_KEY): Promise<string> {
    const res = await call(api.baseUrl, 'POST', `/v1/workflows/${counterId}/execute`, { inputs }, { ...AUTH, Authorization: `Bearer ${key}` });
    if (res.status !== 202) throw new Error(`execute answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.executionId;
  }

  async function waitAll(ids: string[], predicate: (execution: Record<string, unknown>) => boolean, timeoutMs: number, key = ADMIN_KEY, everyMs = 200) {
    const deadline = Date.now() + timeoutMs;
    const pending = new Set(ids);
    const last = new Map<string, Record<string, unknown>>();
    while (pending.size > 0) {
      for (const id of [...pending]) {
        const { status, body } = await call(apis[last.size % 2].baseUrl, 'GET', `/v1/executions/${id}`, undefined, { ...AUTH, Authorization: `Bearer ${key}` });
        if (status !== 200) throw new Error(`GET /v1/executions/${id} answered ${status}: ${JSON.stringify(body)}`);
        last.set(id, body);
        if (predicate(body)) pending.delete(id);
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) throw new Error(`${pending.size} execution(s) never matched, e.g. ${JSON.stringify(last.get([...pending][0]))}`);
      await new Promise((done) => setTimeout(done, everyMs));
    }
    return ids.map((id) => last.get(id)!);
  }
  const finished = (execution: Record<string, unknown>) => !['queued', 'running'].includes(execution.status as string);

  /** The runs a counter file recorded: execution id → how many times it ran, and each run's [start, end]. */
  function runsIn(file: string) {
    const lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean);
    const counts = new Map<string, number>();
    const spans: [number, number][] = [];
    for (const line of lines) {
      const [id, start, end] = line.split(' ');
      counts.set(id, (counts.get(id) ?? 0) + 1);
      spans.push([Number(start), Number(end)]);
    }
    return { counts, spans };
  }

  it("reports Redis in the readiness of every API instance, and the workers' health", async () => {
    for (const api of apis) {
      const ready = await call(api.baseUrl, 'GET', '/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body.checks).toMatchObject({ database: 'ok', redis: 'ok', queue: expect.stringMatching(/^ok \(\d+ waiting, \d+ running\)$/) });
    }
    for (const worker of workers) {
      const health = await (await fetch(worker.healthUrl)).json();
      expect(health).toMatchObject({ status: 'ok', role: 'worker', concurrency: 4 });
    }
  });

  it('runs 200 executions posted to both instances, each exactly once, all completed', async () => {
    const file = join(scratch, 'two-hundred.txt');
    writeFileSync(file, '');
    const ids: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      ids.push(...(await Promise.all(Array.from({ length: 20 }, (_, index) => execute(apis[index % 2], { file })))));
    }
    const executions = await waitAll(ids, finished, 180_000);
    expect(executions.filter((execution) => execution.status !== 'completed')).toEqual([]);
    const { counts } = runsIn(file);
    expect(counts.size).toBe(200);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    expect(new Set(ids)).toEqual(new Set(counts.keys()));
  }, 240_000);

  it('holds a free workspace to 2 running executions across both workers', async () => {
    const workspace = await call(apis[0].baseUrl, 'POST', '/v1/workspaces', { name: `free-${Date.now()}`, plan: 'free' });
    expect(workspace.status).toBe(201);
    const key = await call(apis[0].baseUrl, 'POST', '/v1/api-keys', {
      name: 'runner',
      workspaceId: workspace.body.id,
      scopes: ['workflows:read', 'workflows:write', 'executions:read', 'executions:run'],
    });
    expect(key.status).toBe(201);
    const secret = key.body.key as string;
    const created = await call(apis[1].baseUrl, 'POST', '/v1/workflows', COUNTER, { ...AUTH, Authorization: `Bearer ${secret}` });
    const file = join(scratch, 'free.txt');
    writeFileSync(file, '');
    const ids: string[] = [];
    for (let index = 0; index < 6; index++) {
      const res = await call(
        apis[index % 2].baseUrl,
        'POST',
        `/v1/workflows/${created.body.id}/execute`,
        { inputs: { file, seconds: 1.5 } },
        { ...AUTH, Authorization: `Bearer ${secret}` },
      );
      expect(res.status).toBe(202);
      ids.push(res.body.executionId);
    }
    // The four waiting for a slot wait as their own jobs (delayed), not as copies that multiply.
    for (let sample = 0; sample < 3; sample++) {
      await new Promise((done) => setTimeout(done, 700));
      const queue = (await call(apis[sample % 2].baseUrl, 'GET', '/health/ready')).body.checks.queue as string;
      const [, waiting, running] = /^ok \((\d+) waiting, (\d+) running\)$/.exec(queue)!.map(Number);
      expect(waiting + running).toBeLessThanOrEqual(6);
    }
    // A free workspace also has 60 requests a minute (counted across both instances): poll slowly.
    const executions = await waitAll(ids, finished, 60_000, secret, 2000);
    expect(executions.map((execution) => execution.status)).toEqual(Array(6).fill('completed'));
    const { spans } = runsIn(file);
    const overlap = Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start < e).length));
    expect(overlap).toBeLessThanOrEqual(2);
    expect(overlap).toBe(2);
  }, 90_000);

  it('streams the logs of a run from the other instance, and cancels it from there: cancelled once the program is gone', async () => {
    const file = join(scratch, 'cancel.txt');
    const id = await execute(apis[0], { file, seconds: 60 });
    const sse = new Promise<string>((resolve, reject) => {
      http
        .get(`${apis[1].baseUrl}/v1/executions/${id}/logs`, { headers: AUTH }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk) => (text += chunk));
          response.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    const [running] = await waitAll([id], (execution) => (execution.logs as string[]).some((line) => line.startsWith('pids ')), 30_000);
    const pid = Number((running.logs as string[]).find((line) => line.startsWith('pids '))!.split(' ')[1]);
    expect(processAlive(pid)).toBe(true);
    const cancel = await call(apis[1].baseUrl, 'POST', `/v1/executions/${id}/cancel`);
    expect(cancel.status).toBe(202);
    const [cancelled] = await waitAll([id], finished, 30_000);
    expect(cancelled.status).toBe('cancelled');
    expect(processAlive(pid)).toBe(false);
    const stream = await sse;
    expect(stream).toMatch(/^data: pids \d+ \d+$/m);
    expect(stream.trimEnd().endsWith('event: end\ndata: {"status":"cancelled"}')).toBe(true);
  }, 60_000);

  it('ends a run whose worker is killed (kill -9) WORKER_LOST after the stall interval, without running it again', async () => {
    const file = join(scratch, 'lost.txt');
    const id = await execute(apis[1], { file, seconds: 60 });
    const [running] = await waitAll([id], (execution) => (execution.logs as string[]).some((line) => line.startsWith('pids ')), 30_000);
    const pid = Number((running.logs as string[]).find((line) => line.startsWith('pids '))!.split(' ')[1]);
    const killedAt = Date.now();
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
    await startWorkers();
    const [lost] = await waitAll([id], finished, (STALL_SECONDS * 3 + 10) * 1000);
    const after = (Date.now() - killedAt) / 1000;
    expect(lost.status).toBe('failed');
    expect((lost.error as { code: string }).code).toBe('WORKER_LOST');
    expect(after).toBeGreaterThanOrEqual(STALL_SECONDS - 1);
    console.log(`WORKER_LOST ${after.toFixed(1)} s after the kill (stall interval ${STALL_SECONDS} s)`);
    // The program died with its worker (its lifeline), and nothing ran it again.
    expect(processAlive(pid)).toBe(false);
    expect((lost.logs as string[]).filter((line) => line.startsWith('pids ')).length).toBe(1);
  }, 90_000);

  it('queues a run whose worker is killed again when it has attempts left: the next attempt runs once, on one worker', async () => {
    const marker = join(scratch, 'lost-once.txt');
    const code = [
      'import os, time',
      'first = not os.path.exists(input["marker"])',
      'with open(input["marker"], "a") as f:',
      '    f.write(os.environ["TENSORIFY_EXECUTION_ID"] + "\\n")',
      'print("pids", os.getpid(), os.getpid(), flush=True)',
      'if first:',
      '    time.sleep(60)',
      'return {"runs": len(open(input["marker"]).read().split())}',
    ].join('\n');
    const workflow = await call(apis[0].baseUrl, 'POST', '/v1/workflows', {
      ...COUNTER,
      name: 'Lost once',
      nodes: [COUNTER.nodes[0], { id: 'step', type: 'code', settings: { code } }, COUNTER.nodes[2]],
    });
    expect(workflow.status).toBe(201);
    const res = await call(apis[1].baseUrl, 'POST', `/v1/workflows/${workflow.body.id}/execute`, {
      inputs: { marker },
      retry: { maxAttempts: 2, backoffSeconds: 0, on: ['worker_lost'] },
    });
    expect(res.status).toBe(202);
    const id = res.body.executionId as string;
    await waitAll([id], (execution) => (execution.logs as string[]).some((line) => line.startsWith('pids ')), 30_000);
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
    await startWorkers();
    const [done] = await waitAll([id], finished, (STALL_SECONDS * 3 + 30) * 1000);
    expect(done).toMatchObject({ status: 'completed', output: { runs: 2 }, attempt: 2, maxAttempts: 2 });
    expect((done.attempts as { status: string; error: { code: string } | null }[]).map((a) => [a.status, a.error?.code ?? null])).toEqual([
      ['failed', 'WORKER_LOST'],
      ['completed', null],
    ]);
    // Once: the program ran twice in all (the lost attempt and the next), not once per process that saw it lost.
    expect(readFileSync(marker, 'utf8').trim().split('\n')).toEqual([id, id]);
  }, 120_000);

  it('a Slurm job whose worker is killed (kill -9) is taken over by a live worker after the stall interval, once, and ends completed with each line once', async () => {
    const code = ['import time', 'for i in range(1, 9):', '    print(f"line {i}", flush=True)', '    time.sleep(1)', 'return {"lines": 8}'].join('\n');
    const workflow = await call(apis[0].baseUrl, 'POST', '/v1/workflows', {
      ...COUNTER,
      name: 'Slurm lines',
      nodes: [COUNTER.nodes[0], { id: 'step', type: 'code', settings: { code } }, COUNTER.nodes[2]],
    });
    expect(workflow.status).toBe(201);
    const res = await call(apis[1].baseUrl, 'POST', `/v1/workflows/${workflow.body.id}/execute`, { inputs: {}, executor: 'slurm' });
    expect(res.status).toBe(202);
    const id = res.body.executionId as string;
    const [running] = await waitAll([id], (execution) => (execution.logs as string[]).includes('line 1'), 60_000);
    await Promise.all(workers.map((worker) => worker.stop('SIGKILL')));
    await startWorkers();
    const [done] = await waitAll([id], finished, (STALL_SECONDS * 3 + 60) * 1000);
    expect(done).toMatchObject({ status: 'completed', error: null, output: { lines: 8 }, externalId: running.externalId, attempt: 1 });
    const logs = done.logs as string[];
    expect(logs.filter((line) => /^line \d+$/.test(line))).toEqual(Array.from({ length: 8 }, (_, i) => `line ${i + 1}`));
    // One worker only took it over.
    expect(logs.filter((line) => line.startsWith('[tensorify] following ')).length).toBe(1);
  }, 150_000);

  it('serves metrics on every process: the workers count the runs, the API instances the requests and the queue', async () => {
    const total = (text: string, name: string, labels: Record<string, string> = {}) => valueOf(parsePrometheusText(text), name, labels);
    const scrape = async (url: string) => (await fetch(url)).text();
    const workerTexts = await Promise.all(workers.map((worker) => scrape(worker.healthUrl.replace(/\/health$/, '/metrics'))));
    const apiTexts = await Promise.all(apis.map((api) => scrape(`${api.baseUrl}/metrics`)));
    // Workers were restarted by the previous test: the counts are theirs since, which may be 0 each; the sum moves with one more run.
    const before = workerTexts.reduce((sum, text) => sum + total(text, 'tensorify_executions_total', { status: 'completed', executor: 'local' }), 0);
    const file = join(scratch, 'metrics.txt');
    const [done] = await waitAll([await execute(apis[0], { file })], finished, 30_000);
    expect(done.status).toBe('completed');
    const after = (await Promise.all(workers.map((worker) => scrape(worker.healthUrl.replace(/\/health$/, '/metrics'))))).reduce(
      (sum, text) => sum + total(text, 'tensorify_executions_total', { status: 'completed', executor: 'local' }),
      0,
    );
    expect(after).toBe(before + 1);
    for (const text of apiTexts) {
      expect(total(text, 'tensorify_http_requests_total', { route: '/v1/workflows/:id/execute', status: '202' })).toBeGreaterThan(0);
      expect(samplesOf(parsePrometheusText(text), 'tensorify_execution_queue_depth').length).toBe(2);
    }
  }, 60_000);

  it('loses no execution when Redis restarts (without persistence) in the middle of the load', async () => {
    const file = join(scratch, 'redis-restart.txt');
    writeFileSync(file, '');
    const ids: string[] = [];
    for (let index = 0; index < 15; index++) ids.push(await execute(apis[index % 2], { file, seconds: 0.2 }));
    redis.kill('SIGKILL');
    await new Promise((done) => redis.once('exit', done));
    // While Redis is down the API still takes executions: their rows are committed, their jobs wait.
    for (let index = 0; index < 10; index++) ids.push(await execute(apis[index % 2], { file, seconds: 0.2 }));
    redis = await startRedis(redisPort);
    for (let index = 0; index < 15; index++) ids.push(await execute(apis[index % 2], { file, seconds: 0.2 }));
    const executions = await waitAll(ids, finished, 120_000);
    const statuses = executions.map((execution) => execution.status);
    // A run whose worker lost its job with Redis may end WORKER_LOST; none may be lost or run twice.
    expect(statuses.filter((status) => status !== 'completed' && status !== 'failed')).toEqual([]);
    const { counts } = runsIn(file);
    expect([...counts.values()].every((count) => count === 1)).toBe(true);
    const completed = executions.filter((execution) => execution.status === 'completed').length;
    console.log(
      `Redis restart: ${completed}/${ids.length} completed, ${ids.length - completed} ended otherwise: ${JSON.stringify(executions.filter((e) => e.status !== 'completed').map((e) => e.error))}`,
    );
    expect(completed).toBeGreaterThanOrEqual(ids.length - 4);
  }, 180_000);
});
