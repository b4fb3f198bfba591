import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { codeWorkflow, processAlive, SLEEPER } from '../support/executions';
import { example } from '../support/compiler';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The slurm executor through the API, against the one-node cluster of scripts/ci/slurm/start-slurm.sh
 * (.ci/run starts it; started here too when not running). Its own suite (plugins/slurm/test) covers
 * the rest: pending reasons, sbatch refusals, virtualenvs, Slurm's exit codes.
 */
const SLURM_DIR = process.env.TENSORIFY_SLURM_DIR || '/tmp/tensorify-slurm';

function showJob(jobId: string): Record<string, string> {
  const line = execFileSync('scontrol', ['show', 'job', '-o', jobId], { encoding: 'utf8' });
  return Object.fromEntries(
    line
      .trim()
      .split(/\s+/)
      .filter((word) => word.includes('='))
      .map((word) => [word.slice(0, word.indexOf('=')), word.slice(word.indexOf('=') + 1)]),
  );
}

describe('The slurm executor through the API', () => {
  let t: TestApp;
  let workDir: string;
  const auth = () => t.bearer(t.adminKey);
  const create = async (body: object): Promise<string> => (await t.http.post('/v1/workflows').set('Authorization', auth()).send(body).expect(201)).body.id;
  const execute = (id: string, body: object) => t.http.post(`/v1/workflows/${id}/execute`).set('Authorization', auth()).send(body);
  const get = async (id: string): Promise<Record<string, unknown>> => (await t.http.get(`/v1/executions/${id}`).set('Authorization', auth()).expect(200)).body;
  async function waitFor(id: string, predicate: (execution: Record<string, unknown>) => boolean, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const execution = await get(id);
      if (predicate(execution)) return execution;
      if (Date.now() > deadline) throw new Error(`execution ${id} never matched: ${JSON.stringify(execution)}`);
      await new Promise((done) => setTimeout(done, 50));
    }
  }
  const finished = (execution: Record<string, unknown>) => !['queued', 'running'].includes(execution.status as string);

  beforeAll(async () => {
    execFileSync(path.join(__dirname, '..', '..', 'scripts', 'ci', 'slurm', 'start-slurm.sh'), { stdio: 'pipe', timeout: 300_000 });
    mkdirSync(path.join(SLURM_DIR, 'work'), { recursive: true });
    workDir = mkdtempSync(path.join(SLURM_DIR, 'work', 'api-test-'));
    t = await startTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ slurm: { workDir, pollSeconds: 0.3 } }) });
  }, 300_000);
  afterAll(async () => {
    await t?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('lists slurm as healthy, with its partitions and no GPU', async () => {
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', auth()).expect(200)).body;
    const slurm = executors.find((executor: { id: string }) => executor.id === 'slurm');
    expect(slurm).toMatchObject({ healthy: true, gpu: false });
    expect(slurm.detail).toContain('partitions: debug*, closed');
  });

  it.each(['hello', 'code-branch'])('runs the %s example as a Slurm job to its expected output', async (name) => {
    const { workflow, inputs, expectedOutput } = example(name);
    const id = await create({ name: workflow.name, nodes: workflow.nodes, edges: workflow.edges });
    const res = await execute(id, { inputs, executor: 'slurm' });
    expect(res.status).toBe(202);
    const execution = await waitFor(res.body.executionId, finished);
    expect(execution).toMatchObject({ status: 'completed', executor: 'slurm', output: expectedOutput, error: null });
    expect(execution.externalId).toMatch(/^\d+$/);
    expect(showJob(execution.externalId as string).JobState).toBe('COMPLETED');
    expect(execution.logs).toContain('[node trigger] started');
  });

  it('cancels a running job: cancelled once Slurm reports it ended and its processes are gone', async () => {
    const id = await create(codeWorkflow('Sleeper', SLEEPER));
    const executionId = (await execute(id, { inputs: { seconds: 60 }, executor: 'slurm' })).body.executionId;
    const running = await waitFor(executionId, (e) => (e.logs as string[]).some((line) => line.startsWith('pids ')), 90_000);
    const [pid, child] = (running.logs as string[])
      .find((line) => line.startsWith('pids '))!
      .split(' ')
      .slice(1)
      .map(Number);
    expect(running.externalId).toMatch(/^\d+$/);
    expect(showJob(running.externalId as string).JobState).toBe('RUNNING');
    expect((await t.http.post(`/v1/executions/${executionId}/cancel`).set('Authorization', auth())).status).toBe(202);
    const cancelled = await waitFor(executionId, finished, 30_000);
    expect(cancelled.status).toBe('cancelled');
    expect(showJob(running.externalId as string).JobState).toBe('CANCELLED');
    // The one node is this machine: the job's processes are visible here.
    expect(processAlive(pid)).toBe(false);
    expect(processAlive(child)).toBe(false);
  }, 120_000);

  it('a failing program fails the execution with its exit code', async () => {
    const id = await create(codeWorkflow('Failing', 'raise SystemExit(3)'));
    const executionId = (await execute(id, { executor: 'slurm' })).body.executionId;
    const execution = await waitFor(executionId, finished);
    expect(execution.status).toBe('failed');
    expect(execution.error).toMatchObject({ code: 'EXECUTION_FAILED' });
    expect(execution.exitCode).not.toBe(0);
    expect((execution.logs as string[]).some((line) => /Slurm: the job FAILED with ExitCode=\d+:0/.test(line))).toBe(true);
  });

  it('gpu: true on slurm → 400 GPU_UNAVAILABLE at once (the cluster has no gpu Gres), nothing queued', async () => {
    const { workflow } = example('hello');
    const id = await create({ name: workflow.name, nodes: workflow.nodes, edges: workflow.edges });
    const res = await execute(id, { inputs: { name: 'Ada' }, gpu: true, executor: 'slurm' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('GPU_UNAVAILABLE');
  });
});
