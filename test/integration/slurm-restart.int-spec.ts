import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { codeWorkflow } from '../support/executions';
import { startServerProcess, type ServerProcess } from '../support/server-process';
import { TEST_ADMIN_KEY } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * A Slurm job outlives the server: a real server process (bin/tensorify-server.js) is stopped or
 * killed while its job waits or runs, and the next one follows the job again by its id (issue 20).
 * Every job is submitted held (`sbatch --hold`), so the test, not the machine's speed, decides when
 * it starts (`scontrol release`). Against the one-node cluster of scripts/ci/slurm/start-slurm.sh.
 */
const SLURM_DIR = process.env.TENSORIFY_SLURM_DIR || '/tmp/tensorify-slurm';

/** Prints `line 1..n`, one a second, then returns. */
const COUNTER = [
  'import time',
  'for i in range(1, int(input.get("lines", 5)) + 1):',
  '    print(f"line {i}", flush=True)',
  '    time.sleep(float(input.get("every", 1)))',
  'return {"lines": int(input.get("lines", 5))}',
].join('\n');

function jobState(jobId: string): string {
  const line = execFileSync('scontrol', ['show', 'job', '-o', jobId], { encoding: 'utf8' });
  return /JobState=(\S+)/.exec(line)?.[1] ?? 'UNKNOWN';
}

describe('A Slurm job across restarts of the server (real processes)', () => {
  let dataDir: string;
  let workDir: string;
  let server: ServerProcess | undefined;

  beforeAll(() => {
    execFileSync(path.join(__dirname, '..', '..', 'scripts', 'ci', 'slurm', 'start-slurm.sh'), { stdio: 'pipe', timeout: 300_000 });
    mkdirSync(path.join(SLURM_DIR, 'work'), { recursive: true });
    workDir = mkdtempSync(path.join(SLURM_DIR, 'work', 'restart-test-'));
    dataDir = mkdtempSync(path.join(SLURM_DIR, 'work', 'restart-data-'));
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(workDir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (): Promise<void> => {
    server = await startServerProcess(
      {
        TENSORIFY_DATA_DIR: dataDir,
        TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY,
        TENSORIFY_LOG_LEVEL: 'warn',
        TENSORIFY_EXECUTORS: JSON.stringify({ slurm: { workDir, pollSeconds: 0.3, sbatchArgs: ['--hold'] } }),
        // A busy machine (several servers and a cluster on two cores) starts a server slowly.
      },
      60_000,
    );
  };

  async function api(urlPath: string, init: { method?: string; body?: unknown } = {}): Promise<{ status: number; body: any }> {
    const response = await fetch(`${server!.baseUrl}${urlPath}`, {
      method: init.method ?? 'GET',
      headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}`, 'Content-Type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    return { status: response.status, body: await response.json() };
  }
  const execution = (id: string, predicate: (execution: any) => boolean, timeoutMs = 60_000): Promise<any> =>
    waitFor(async () => (await api(`/v1/executions/${id}`)).body, predicate, { timeoutMs, intervalMs: 100, what: `execution ${id}` });
  const finished = (e: any) => !['queued', 'running'].includes(e.status);

  async function submit(inputs: Record<string, unknown>): Promise<{ executionId: string; jobId: string }> {
    const workflow = await api('/v1/workflows', { method: 'POST', body: codeWorkflow('Counter', COUNTER) });
    expect(workflow.status).toBe(201);
    const res = await api(`/v1/workflows/${workflow.body.id}/execute`, { method: 'POST', body: { inputs, executor: 'slurm' } });
    expect(res.status).toBe(202);
    const executionId = res.body.executionId as string;
    const pending = await execution(executionId, (e) => e.logs.some((line: string) => line.includes('Reason=JobHeldUser')));
    return { executionId, jobId: pending.externalId as string };
  }

  it('shows a pending job `queued` with its reason and job id, then `running` from its start, then `completed`', async () => {
    await start();
    const { executionId, jobId } = await submit({ lines: 2, every: 0.2 });
    const pending = (await api(`/v1/executions/${executionId}`)).body;
    expect(pending).toMatchObject({ status: 'queued', externalId: jobId, startedAt: null });
    expect(jobState(jobId)).toBe('PENDING');
    execFileSync('scontrol', ['release', jobId]);
    const running = await execution(executionId, (e) => e.status !== 'queued');
    expect(['running', 'completed']).toContain(running.status);
    expect(running.startedAt).not.toBeNull();
    const done = await execution(executionId, finished);
    expect(done).toMatchObject({ status: 'completed', output: { lines: 2 }, externalId: jobId });
    expect(done.logs).toEqual(expect.arrayContaining(['line 1', 'line 2']));
  }, 120_000);

  it('a server stopped (SIGTERM) while the job runs leaves it running; the next server finishes it `completed` with every line once', async () => {
    await server?.stop();
    await start();
    const { executionId, jobId } = await submit({ lines: 6, every: 1 });
    execFileSync('scontrol', ['release', jobId]);
    await execution(executionId, (e) => e.status === 'running' && e.logs.includes('line 2'));
    expect(await server!.stop('SIGTERM')).toBe(0);
    expect(jobState(jobId)).toBe('RUNNING');

    await start();
    const done = await execution(executionId, finished);
    expect(done).toMatchObject({ status: 'completed', output: { lines: 6 }, externalId: jobId, error: null });
    const lines = done.logs.filter((line: string) => /^line \d+$/.test(line));
    expect(lines).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5', 'line 6']);
    expect(done.logs).toContain(`[tensorify] following ${jobId} again after a restart of the server`);
    expect(readdirSync(workDir).filter((name) => name.startsWith(executionId))).toEqual([]);
  }, 120_000);

  it('a server killed (SIGKILL) while the job runs; the job ends during the downtime; the next server maps its outcome', async () => {
    await server?.stop();
    await start();
    const { executionId, jobId } = await submit({ lines: 3, every: 1 });
    execFileSync('scontrol', ['release', jobId]);
    await execution(executionId, (e) => e.logs.includes('line 1'));
    await server!.stop('SIGKILL');
    await waitFor(
      () => jobState(jobId),
      (state) => state === 'COMPLETED',
      { timeoutMs: 60_000, intervalMs: 200, what: `job ${jobId}` },
    );

    await start();
    const done = await execution(executionId, finished);
    expect(done).toMatchObject({ status: 'completed', output: { lines: 3 }, externalId: jobId });
    expect(done.logs.filter((line: string) => /^line \d+$/.test(line))).toEqual(['line 1', 'line 2', 'line 3']);
  }, 120_000);

  it('a job still pending at the restart stays `queued`, and a cancel then ends it `cancelled` once Slurm says so', async () => {
    await server?.stop();
    await start();
    const { executionId, jobId } = await submit({ lines: 1 });
    expect(await server!.stop('SIGTERM')).toBe(0);
    expect(jobState(jobId)).toBe('PENDING');

    await start();
    await execution(executionId, (e) => e.logs.includes(`[tensorify] following ${jobId} again after a restart of the server`));
    expect((await api(`/v1/executions/${executionId}`)).body).toMatchObject({ status: 'queued', externalId: jobId });
    expect((await api(`/v1/executions/${executionId}/cancel`, { method: 'POST' })).status).toBe(202);
    const done = await execution(executionId, finished);
    expect(done).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(jobState(jobId)).toBe('CANCELLED');
  }, 120_000);
});
