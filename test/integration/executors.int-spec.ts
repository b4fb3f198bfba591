import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { codeWorkflow, processAlive, SLEEPER } from '../support/executions';
import { example } from '../support/compiler';
import { startTestApp, type TestApp } from '../support/test-app';

/**
 * The docker and ssh executors through the API, against the services .ci/run starts:
 * scripts/ci/docker/start-dockerd.sh (+ build-test-image.sh) and scripts/ci/ssh/start-sshd.sh.
 * A service that is not there fails these tests, naming the script to run.
 */
const DOCKER_SOCKET = process.env.TENSORIFY_TEST_DOCKER_SOCKET || '/tmp/tensorify-docker/docker.sock';
const DOCKER_IMAGE = process.env.TENSORIFY_TEST_DOCKER_IMAGE || 'tensorify-test-python:bookworm';
const SSHD_DIR = process.env.TENSORIFY_SSHD_DIR || '/tmp/tensorify-sshd';
const SSH_PORT = Number(process.env.TENSORIFY_SSHD_PORT || 2222);
const GPU_SSH_PORT = Number(process.env.TENSORIFY_SSHD_GPU_PORT || 2223);
const USER = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();

const docker = { socketPath: DOCKER_SOCKET, image: DOCKER_IMAGE, pullPolicy: 'never', python: 'python3', memory: '256m' };
const sshHost = (name: string, port: number) => ({
  name,
  host: '127.0.0.1',
  port,
  user: USER,
  privateKeyPath: path.join(SSHD_DIR, 'client_ed25519'),
  python: '/usr/bin/python3',
});
const ssh = (hosts: object[], extra: object = {}) => ({ knownHostsPath: path.join(SSHD_DIR, 'known_hosts'), connectTimeoutSeconds: 3, hosts, ...extra });

function requireServices(): void {
  if (!existsSync(DOCKER_SOCKET))
    throw new Error(`No Docker engine at ${DOCKER_SOCKET}: run scripts/ci/docker/start-dockerd.sh and build-test-image.sh (.ci/run does)`);
  if (!existsSync(path.join(SSHD_DIR, 'known_hosts'))) throw new Error(`No test sshd in ${SSHD_DIR}: run scripts/ci/ssh/start-sshd.sh (.ci/run does)`);
}

/** Helpers over one test app. */
function client(t: TestApp) {
  const auth = t.bearer(t.adminKey);
  return {
    async create(body: object): Promise<string> {
      return (await t.http.post('/v1/workflows').set('Authorization', auth).send(body).expect(201)).body.id;
    },
    execute(workflowId: string, body: object) {
      return t.http.post(`/v1/workflows/${workflowId}/execute`).set('Authorization', auth).send(body);
    },
    async get(id: string): Promise<Record<string, unknown>> {
      return (await t.http.get(`/v1/executions/${id}`).set('Authorization', auth).expect(200)).body;
    },
    async waitFor(id: string, predicate: (execution: Record<string, unknown>) => boolean, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const execution = await this.get(id);
        if (predicate(execution)) return execution;
        if (Date.now() > deadline) throw new Error(`execution ${id} never matched: ${JSON.stringify(execution)}`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    cancel(id: string) {
      return t.http.post(`/v1/executions/${id}/cancel`).set('Authorization', auth);
    },
    async count(): Promise<number> {
      return (await t.http.get('/v1/executions').set('Authorization', auth).expect(200)).body.executions.length;
    },
  };
}

const finished = (execution: Record<string, unknown>) => !['queued', 'running'].includes(execution.status as string);
const sleeper = codeWorkflow('Sleeper', SLEEPER);

describe('The docker and ssh executors through the API', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    requireServices();
    t = await startTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ docker, ssh: ssh([sshHost('cpu', SSH_PORT)]) }) });
    api = client(t);
  });
  afterAll(() => t?.close());

  it('lists both as healthy, without a GPU on this machine', async () => {
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', t.bearer(t.adminKey)).expect(200)).body;
    const byId = Object.fromEntries(executors.map((executor: { id: string }) => [executor.id, executor]));
    expect(byId.docker).toMatchObject({ healthy: true, gpu: false });
    expect(byId.ssh).toMatchObject({ healthy: true, gpu: false });
    const ready = (await t.http.get('/health/ready').expect(200)).body;
    expect(ready.executors).toMatchObject({ local: 'ok', docker: 'ok', ssh: 'ok' });
  });

  describe.each(['docker', 'ssh'])('%s', (executor) => {
    it.each(['hello', 'code-branch'])(`runs the %s example to its expected output`, async (name) => {
      const { workflow, inputs, expectedOutput } = example(name);
      const id = await api.create({ name: workflow.name, nodes: workflow.nodes, edges: workflow.edges });
      const res = await api.execute(id, { inputs, executor });
      expect(res.status).toBe(202);
      const execution = await api.waitFor(res.body.executionId, finished);
      expect(execution).toMatchObject({ status: 'completed', executor, output: expectedOutput, error: null });
      expect(execution.logs).toContain('[node trigger] started');
    });

    it('cancels a running program: cancelled only once its processes are gone, nothing left behind', async () => {
      const id = await api.create(sleeper);
      const executionId = (await api.execute(id, { inputs: { seconds: 60 }, executor })).body.executionId;
      const running = await api.waitFor(executionId, (e) => (e.logs as string[]).some((line) => line.startsWith('pids ')), 90_000);
      const [pid, child] = (running.logs as string[])
        .find((line) => line.startsWith('pids '))!
        .split(' ')
        .slice(1)
        .map(Number);
      // Where it runs is shown while it runs: host:pid of the program over ssh, the container over docker.
      const { externalId } = await api.waitFor(executionId, (e) => e.externalId !== null, 10_000);
      if (executor === 'ssh') expect(externalId).toBe(`cpu:${pid}`);
      else {
        const labelled = execFileSync('docker', ['-H', `unix://${DOCKER_SOCKET}`, 'ps', '-q', '--filter', `label=tensorify.execution=${executionId}`], {
          encoding: 'utf8',
        });
        expect(labelled.trim()).toBe(externalId);
      }
      expect((await api.cancel(executionId)).status).toBe(202);
      const cancelled = await api.waitFor(executionId, finished, 30_000);
      expect(cancelled.status).toBe('cancelled');
      if (executor === 'ssh') {
        // The "remote" host is this machine: its processes are visible here (and over SSH: the plugin's own suite checks so).
        expect(processAlive(pid)).toBe(false);
        expect(processAlive(child)).toBe(false);
      } else {
        const left = execFileSync('docker', ['-H', `unix://${DOCKER_SOCKET}`, 'ps', '-aq', '--filter', `label=tensorify.execution=${executionId}`], {
          encoding: 'utf8',
        });
        expect(left.trim()).toBe('');
      }
    }, 120_000);
  });

  it('docker: a program over the memory limit fails, saying it ran out of memory', async () => {
    const id = await api.create(codeWorkflow('Greedy', 'blocks = [bytearray(64 * 1024 * 1024) for _ in range(16)]\nreturn {"held": len(blocks)}'));
    const executionId = (await api.execute(id, { executor: 'docker' })).body.executionId;
    const execution = await api.waitFor(executionId, finished);
    expect(execution.status).toBe('failed');
    expect((execution.error as { code: string; message: string }).code).toBe('EXECUTION_FAILED');
    expect((execution.error as { message: string }).message).toMatch(/out of memory/);
  });

  it('gpu: true → 400 GPU_UNAVAILABLE at once, nothing queued (no executor here has a GPU)', async () => {
    const { workflow } = example('hello');
    const id = await api.create({ name: workflow.name, nodes: workflow.nodes, edges: workflow.edges });
    const before = await api.count();
    const res = await api.execute(id, { inputs: { name: 'Ada' }, gpu: true });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('GPU_UNAVAILABLE');
    const explicit = await api.execute(id, { inputs: { name: 'Ada' }, gpu: true, executor: 'docker' });
    expect(explicit.status).toBe(400);
    expect(explicit.body.error.code).toBe('GPU_UNAVAILABLE');
    expect(await api.count()).toBe(before);
  });
});

describe('GPU routing to an SSH host whose nvidia-smi is a stand-in (there is no GPU on this machine)', () => {
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    requireServices();
    const standIn = readFileSync(path.join(SSHD_DIR, 'gpu-bin', 'nvidia-smi'), 'utf8');
    console.log(`The GPU host's nvidia-smi is a stand-in script (no GPU here):\n${standIn}`);
    t = await startTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ ssh: ssh([sshHost('cpu', SSH_PORT), sshHost('gpu', GPU_SSH_PORT)]) }) });
    api = client(t);
  });
  afterAll(() => t?.close());

  it('routes gpu: true to ssh, onto the GPU host, and the program sees TENSORIFY_DEVICE=cuda', async () => {
    const { executors } = (await t.http.get('/v1/executors').set('Authorization', t.bearer(t.adminKey)).expect(200)).body;
    const sshExecutor = executors.find((executor: { id: string }) => executor.id === 'ssh');
    expect(sshExecutor).toMatchObject({ gpu: true, healthy: true });
    expect(sshExecutor.gpus.length).toBeGreaterThan(0);
    const id = await api.create(codeWorkflow('Device', 'import os, socket\nreturn {"device": os.environ.get("TENSORIFY_DEVICE")}'));
    const res = await api.execute(id, { gpu: true });
    expect(res.status).toBe(202);
    const execution = await api.waitFor(res.body.executionId, finished);
    expect(execution).toMatchObject({ status: 'completed', executor: 'ssh', gpu: true, output: { device: 'cuda' } });
    const cpu = await api.waitFor((await api.execute(id, { executor: 'ssh' })).body.executionId, finished);
    expect(cpu).toMatchObject({ status: 'completed', output: { device: 'cpu' } });
  });
});

describe('An SSH host that does not answer', () => {
  it('fails the run with EXECUTOR_UNAVAILABLE, naming the host, within seconds', async () => {
    const t = await startTestApp({ TENSORIFY_EXECUTORS: JSON.stringify({ ssh: ssh([sshHost('stopped', 1)]) }) });
    try {
      const api = client(t);
      const { workflow } = example('hello');
      const id = await api.create({ name: workflow.name, nodes: workflow.nodes, edges: workflow.edges });
      const started = Date.now();
      const executionId = (await api.execute(id, { inputs: { name: 'Ada' }, executor: 'ssh' })).body.executionId;
      const execution = await api.waitFor(executionId, finished, 10_000);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(execution.status).toBe('failed');
      expect(execution.error).toMatchObject({ code: 'EXECUTOR_UNAVAILABLE', message: expect.stringContaining('stopped') });
    } finally {
      await t.close();
    }
  });
});
