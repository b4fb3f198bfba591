import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeWorkflow, processAlive, SLEEPER } from '../support/executions';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { TEST_ADMIN_KEY } from '../support/test-app';

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

  async function waitFor(id: string, predicate: (execution: any) => boolean, timeoutMs = 20_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { body } = await api(`/v1/executions/${id}`);
      if (predicate(body)) return body;
      if (Date.now() > deadline) throw new Error(`execution ${id} never matched: ${JSON.stringify(body)}`);
      await new Promise((done) => setTimeout(done, 50));
    }
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
    const execution = await waitFor(running, (e) => e.logs.some((line: string) => line.startsWith('pids ')));
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
    const resumed = await waitFor(queued, (e) => !['queued', 'running'].includes(e.status));
    expect(resumed).toMatchObject({ status: 'completed', output: { slept: true } });
  });
});
