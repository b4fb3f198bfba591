import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { TEST_ADMIN_KEY } from '../support/test-app';

const SLEEPER = [
  'import os, subprocess, time',
  'child = subprocess.Popen(["sleep", "60"])',
  'print("pids", os.getpid(), child.pid, flush=True)',
  'time.sleep(float(input.get("seconds", 60)))',
  'return {"slept": True}',
].join('\n');

/** Whether the process exists and is not a zombie. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

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

  const env = () => ({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY, TENSORIFY_EXECUTION_CONCURRENCY: '1', TENSORIFY_LOG_LEVEL: 'warn' });

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
      body: {
        name: 'Sleeper',
        nodes: [
          { id: 'trigger', type: 'manual' },
          { id: 'step', type: 'code', settings: { code: SLEEPER } },
          { id: 'out', type: 'return', settings: { value: '{{ step }}' } },
        ],
        edges: [
          { source: 'trigger', target: 'step' },
          { source: 'step', target: 'out' },
        ],
      },
    });
    expect(workflow.status).toBe(201);
    const running = (await api(`/v1/workflows/${workflow.body.id}/execute`, { method: 'POST', body: { inputs: { seconds: 60 } } })).body.executionId;
    const queued = (await api(`/v1/workflows/${workflow.body.id}/execute`, { method: 'POST', body: { inputs: { seconds: 0 } } })).body.executionId;
    const execution = await waitFor(running, (e) => e.logs.some((line: string) => line.startsWith('pids ')));
    const [, pid, grandchild] = execution.logs.find((line: string) => line.startsWith('pids ')).split(' ').map(Number);
    expect((await api(`/v1/executions/${queued}`)).body.status).toBe('queued');

    await server.stop('SIGKILL');
    const deadline = Date.now() + 3_000;
    while ((await alive(pid)) || (await alive(grandchild))) {
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
