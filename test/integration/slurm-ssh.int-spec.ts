import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../plugins/ssh/test/test-hosts';
import { example } from '../support/compiler';
import { startTestApp, type TestApp } from '../support/test-app';
import { waitFor } from '../support/wait-for';

/**
 * The slurm executor's SSH way in through the API: the login node is this machine over SSH (the
 * sshd of scripts/ci/ssh/start-sshd.sh), the cluster the one-node Slurm of
 * scripts/ci/slurm/start-slurm.sh (both started here when not running). Its own suite
 * (plugins/slurm/test/slurm-ssh.int-spec.ts) covers the rest: conformance, host keys, a lost connection.
 */
const ROOT = path.join(__dirname, '..', '..');
const SLURM_DIR = process.env.TENSORIFY_SLURM_DIR || '/tmp/tensorify-slurm';
const SSHD_DIR = process.env.TENSORIFY_SSHD_DIR || '/tmp/tensorify-sshd';
const SSHD_PORT = Number(process.env.TENSORIFY_SSHD_PORT || 2222);

describe('The slurm executor over SSH to a login node, through the API', () => {
  let workDir: string;
  const apps: TestApp[] = [];

  beforeAll(() => {
    execFileSync(path.join(ROOT, 'scripts', 'ci', 'slurm', 'start-slurm.sh'), { stdio: 'pipe', timeout: 300_000 });
    execFileSync(path.join(ROOT, 'scripts', 'ci', 'ssh', 'start-sshd.sh'), { stdio: 'pipe', timeout: 60_000 });
    mkdirSync(path.join(SLURM_DIR, 'work'), { recursive: true });
    workDir = mkdtempSync(path.join(SLURM_DIR, 'work', 'api-ssh-test-'));
  }, 300_000);
  afterAll(async () => {
    for (const app of apps) await app.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  async function start(port: number): Promise<TestApp> {
    const loginNode = { host: '127.0.0.1', port, privateKeyPath: path.join(SSHD_DIR, 'client_ed25519'), knownHostsPath: path.join(SSHD_DIR, 'known_hosts') };
    const app = await startTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ slurm: { transport: 'ssh', loginNode, workDir, pollSeconds: 0.3 } }) });
    apps.push(app);
    return app;
  }

  async function run(t: TestApp, name: string, executor: string): Promise<Record<string, unknown>> {
    const auth = t.bearer(t.adminKey);
    const { workflow, inputs } = example(name);
    const id = (
      await t.http.post('/v1/workflows').set('Authorization', auth).send({ name: workflow.name, nodes: workflow.nodes, edges: workflow.edges }).expect(201)
    ).body.id;
    const executionId = (await t.http.post(`/v1/workflows/${id}/execute`).set('Authorization', auth).send({ inputs, executor }).expect(202)).body.executionId;
    return waitFor(
      async () => (await t.http.get(`/v1/executions/${executionId}`).set('Authorization', auth).expect(200)).body as Record<string, unknown>,
      (execution) => !['queued', 'running'].includes(execution.status as string),
      { timeoutMs: 90_000, what: `execution ${executionId}` },
    );
  }

  it('lists slurm as healthy through the login node and runs the hello example as a Slurm job', async () => {
    const t = await start(SSHD_PORT);
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', t.bearer(t.adminKey)).expect(200)).body;
    const slurm = executors.find((executor: { id: string }) => executor.id === 'slurm');
    expect(slurm).toMatchObject({ healthy: true, gpu: false });
    expect(slurm.detail).toMatch(/^login node \S+@127\.0\.0\.1:\d+ over SSH; partitions: debug\*, closed/);
    const execution = await run(t, 'hello', 'slurm');
    expect(execution).toMatchObject({ status: 'completed', executor: 'slurm', output: example('hello').expectedOutput, error: null });
    expect(execution.externalId).toMatch(/^\d+$/);
  }, 120_000);

  it('an unreachable login node: the execution fails EXECUTOR_UNAVAILABLE with the reason, and the server runs other executions', async () => {
    const port = await freePort();
    const t = await start(port);
    const failed = await run(t, 'hello', 'slurm');
    expect(failed).toMatchObject({ status: 'failed', externalId: null });
    expect(failed.error).toEqual({
      code: 'EXECUTOR_UNAVAILABLE',
      message: expect.stringMatching(
        new RegExp(`^slurm executor: login node \\S+@127\\.0\\.0\\.1:${port}: connection refused \\(nothing listens on port ${port}`),
      ),
    });
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', t.bearer(t.adminKey)).expect(200)).body;
    expect(executors.find((executor: { id: string }) => executor.id === 'slurm')).toMatchObject({
      healthy: false,
      detail: expect.stringContaining('connection refused'),
    });
    expect(await run(t, 'hello', 'local')).toMatchObject({ status: 'completed', output: example('hello').expectedOutput });
  }, 120_000);
});
