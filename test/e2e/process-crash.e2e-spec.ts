import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeWorkflow, processAlive, SLEEPER } from '../support/executions';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { TEST_ADMIN_KEY } from '../support/test-app';
import { waitFor } from '../support/wait-for';

describe('A server killed with SIGKILL during runs', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tensorify-crash-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const env = () => ({
    TENSORIFY_DATA_DIR: dataDir,
    TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
    TENSORIFY_EXECUTION_CONCURRENCY: '1',
    TENSORIFY_LOG_LEVEL: 'warn',
  });

  async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server!.baseUrl}${path}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: response.status, body: await response.json() };
  }

  function waitForExecution(id: string, predicate: (execution: any) => boolean, timeoutMs = 20_000): Promise<any> {
    return waitFor(async () => (await api(`/v1/executions/${id}`)).body, predicate, { timeoutMs, intervalMs: 50, what: `execution ${id}` });
  }

  it('leaves no child running, ends the running execution WORKER_LOST on restart and runs the queued one', async () => {
    server = await startServerProcess(env());
    const workflow = await api('/v1/workflows', {
      method: 'POST',
      body: codeWorkflow('Sleeper', SLEEPER),
    });
    expect(workflow.status).toBe(201);
    const running = (await api(`/v1/workflows/${workflow.body.id}/execute`, { method: 'POST', body: { inputs: { seconds: 60 } } })).body.executionId;
    const queued = (await api(`/v1/workflows/${workflow.body.id}/execute`, { method: 'POST', body: { inputs: { seconds: 0 } } })).body.executionId;
    const execution = await waitForExecution(running, (e) => e.logs.some((line: string) => line.startsWith('pids ')));
    const [, pid, grandchild] = execution.logs
      .find((line: string) => line.startsWith('pids '))
      .split(' ')
      .map(Number);
    expect((await api(`/v1/executions/${queued}`)).body.status).toBe('queued');

    await server.stop('SIGKILL');
    const deadline = Date.now() + 3_000;
    while (processAlive(pid) || processAlive(grandchild)) {
      if (Date.now() > deadline) throw new Error(`the run's processes outlived the server: ${pid} ${grandchild}`);
      await new Promise((done) => setTimeout(done, 50));
    }

    server = await startServerProcess(env());
    const lost = (await api(`/v1/executions/${running}`)).body;
    expect(lost).toMatchObject({ status: 'failed', error: { code: 'WORKER_LOST' } });
    const resumed = await waitForExecution(queued, (e) => !['queued', 'running'].includes(e.status));
    expect(resumed).toMatchObject({ status: 'completed', output: { slept: true } });
  });

  it('queues a WORKER_LOST run with attempts left again on restart, once, and runs its next attempt', async () => {
    await server?.stop();
    server = await startServerProcess(env());
    const counter = join(dataDir, 'lost-counter');
    // The first run sleeps (and is killed with the server); the next one returns at once.
    const body = [
      'import os, time',
      'runs = int(open(input["counter"]).read()) if os.path.exists(input["counter"]) else 0',
      'open(input["counter"], "w").write(str(runs + 1))',
      'print("run", runs + 1, flush=True)',
      'if runs == 0:',
      '    time.sleep(60)',
      'return {"runs": runs + 1}',
    ].join('\n');
    const workflow = await api('/v1/workflows', { method: 'POST', body: codeWorkflow('Lost once', body) });
    const id = (
      await api(`/v1/workflows/${workflow.body.id}/execute`, { method: 'POST', body: { inputs: { counter }, retry: { maxAttempts: 2, backoffSeconds: 0 } } })
    ).body.executionId;
    await waitForExecution(id, (e) => e.logs.includes('run 1'));

    await server.stop('SIGKILL');
    server = await startServerProcess(env());
    const done = await waitForExecution(id, (e) => !['queued', 'running'].includes(e.status));
    expect(done).toMatchObject({ status: 'completed', output: { runs: 2 }, attempt: 2, maxAttempts: 2 });
    expect(done.attempts.map((a: any) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
      [1, 'failed', 'WORKER_LOST'],
      [2, 'completed', null],
    ]);
    expect(done.logs.filter((line: string) => line.startsWith('run '))).toEqual(['run 1', 'run 2']);
    expect(done.logs).toContain('[attempt 2 of 2] started after a backoff of 0 s');
  });
});
