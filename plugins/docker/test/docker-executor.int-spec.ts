/**
 * The docker executor against a real Docker engine.
 *
 * The engine and the image come from scripts/ci/docker (run by .ci/run):
 *   scripts/ci/docker/start-dockerd.sh && scripts/ci/docker/build-test-image.sh
 * TENSORIFY_TEST_DOCKER_SOCKET (default /tmp/tensorify-docker/docker.sock) and
 * TENSORIFY_TEST_DOCKER_IMAGE (default tensorify-test-python:bookworm, a debootstrapped Debian
 * with python3, venv and pip) override them. No registry is needed: the image is used with
 * pullPolicy "never", and the requirements test installs a wheel built here, with --no-index.
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import {
  createTestContext,
  ExecutorUnavailableError,
  normaliseRequirements,
  type ProgramFiles,
  readProgram,
  type TestContext,
  testJob,
} from '@tensorify/executor-sdk';
import { formatSize, parseSize, resolveConfig } from '../src/config';
import { DockerExecutor, type DockerExecutorConfig } from '../src/index';
import { recipeHash } from '../src/requirements';
import { buildWheel, engine, IMAGE, makeExecutor as makeEngineExecutor, tempDir } from './helpers';

jest.setTimeout(60_000);

const GOLDEN = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'golden');
const EXAMPLES = path.join(__dirname, '..', '..', '..', '..', 'shared', 'examples');

function golden(name: string): ProgramFiles {
  return readProgram(path.join(GOLDEN, name));
}

/** An example's inputs and expected output, from ../shared/examples when present, else as the golden test knows them. */
function example(name: string, fallback: { inputs: Record<string, unknown>; output: unknown }): { inputs: Record<string, unknown>; output: unknown } {
  try {
    return {
      inputs: JSON.parse(readFileSync(path.join(EXAMPLES, `${name}.inputs.json`), 'utf8')) as Record<string, unknown>,
      output: JSON.parse(readFileSync(path.join(EXAMPLES, `${name}.expected-output.json`), 'utf8')) as unknown,
    };
  } catch {
    return fallback;
  }
}

/** An executor on the test engine (helpers' makeExecutor), with the config given. */
async function makeExecutor(config: DockerExecutorConfig = {}): Promise<DockerExecutor> {
  return (await makeEngineExecutor(config)).executor;
}

const RUN_ID = Math.random().toString(36).slice(2, 8);

/** The containers this test process made (runs and builds), whatever their state. */
async function ourContainers(): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all: true, filters: { label: ['tensorify.executor=docker', `tensorify.pid=${process.pid}`] } });
}

async function containersOf(executionId: string): Promise<Docker.ContainerInfo[]> {
  return engine.listContainers({ all: true, filters: { label: [`tensorify.execution=${executionId}`] } });
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((done) => setTimeout(done, 20));
  }
}

afterEach(async () => {
  // Every run removes its container before it resolves: nothing of this process may be left.
  expect(await ourContainers()).toEqual([]);
});

describe('docker executor: configuration and hashes', () => {
  it('parses sizes as docker run does and fills in the defaults', () => {
    expect(parseSize('64m', 'memory')).toBe(64 * 1024 * 1024);
    expect(parseSize('1.5g', 'memory')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('512MiB', 'memory')).toBe(512 * 1024 * 1024);
    expect(parseSize(' 100 ', 'memory')).toBe(100);
    expect(parseSize(7_000_000, 'memory')).toBe(7_000_000);
    expect(() => parseSize('64x', 'memory')).toThrow('docker executor: memory must be a number of bytes or a size such as "256m" or "2g", not "64x"');
    expect(formatSize(64 * 1024 * 1024)).toBe('64 MiB');
    expect(formatSize(1.5 * 1024 ** 3)).toBe('1.5 GiB');
    expect(() => resolveConfig({ memory: '1m' })).toThrow(/at least 6m/);
    expect(() => resolveConfig({ socketPath: '/a', host: 'b' })).toThrow('docker executor: configure socketPath or host, not both');
    expect(resolveConfig({ host: 'engine.internal' })).toMatchObject({
      host: 'engine.internal',
      port: 2375,
      image: 'python:3.11-slim',
      pullPolicy: 'if-missing',
      network: 'bridge',
      killGraceSeconds: 5,
    });
    expect(resolveConfig({ memory: '256m', shmSize: '1g' })).toMatchObject({ memoryBytes: 256 * 1024 * 1024, shmSizeBytes: 1024 ** 3 });
  });

  it('hashes the derived image by base image id, interpreter, normalised requirements, pip arguments and local packages', () => {
    const recipe = { baseImageId: 'sha256:a', python: 'python3', requirements: normaliseRequirements('b\n# c\na  # x\n\nb\n'), pipArgs: [], findLinks: [] };
    expect(recipe.requirements).toEqual(['a', 'b']);
    const hash = recipeHash(recipe);
    expect(hash).toMatch(/^[0-9a-f]{32}$/);
    expect(recipeHash({ ...recipe, requirements: normaliseRequirements('a\nb') })).toBe(hash);
    expect(recipeHash({ ...recipe, baseImageId: 'sha256:b' })).not.toBe(hash);
    expect(recipeHash({ ...recipe, python: 'python3.12' })).not.toBe(hash);
    expect(recipeHash({ ...recipe, pipArgs: ['--no-index'] })).not.toBe(hash);
    expect(recipeHash({ ...recipe, findLinks: [{ name: 'a.whl', path: '/w/a.whl', size: 1, sha256: '00' }] })).not.toBe(hash);
  });
});

describe('docker executor: running programs', () => {
  it('runs the hello program: its output, progress lines streamed in order, the container id', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const { inputs, output } = example('hello', { inputs: { name: 'Ada' }, output: { result: 'Hello, Ada!' } });
    const run = testJob(golden('hello'), { inputs });
    const result = await executor.run(run, context);

    expect(result).toEqual({ exitCode: 0, output, externalId: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(context.externalIds).toEqual([result.externalId]);
    expect(context.of('stdout').map((line) => line.replace(/ in [\d.]+ ms$/, ''))).toEqual([
      '[node trigger] started',
      '[node trigger] finished',
      '[node greeting] started',
      '[node greeting] finished',
      '[node out] started',
      '[node out] finished',
    ]);
    expect(context.of('stderr')).toEqual([]);
    expect(context.of('system')).toEqual([]); // no requirements: the base image, nothing to say
    expect(await containersOf(run.executionId)).toEqual([]);
  });

  it('runs the code-branch program to its expected output', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const { inputs, output } = example('code-branch', { inputs: { numbers: [3, 4, 5] }, output: { verdict: 'big', total: 12 } });
    const result = await executor.run(testJob(golden('code-branch'), { inputs }), context);

    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual(output);
    expect(context.of('stdout').map((line) => line.replace(/ in [\d.]+ ms$/, ''))).toEqual([
      '[node trigger] started',
      '[node trigger] finished',
      '[node score] started',
      '[node score] finished',
      '[node check] started',
      '[node check] finished',
      '[node big] started',
      '[node big] finished',
    ]);
  });

  it('streams lines live, stdout and stderr in the order written; cuts long lines; CRLF and a last line without newline', async () => {
    const executor = await makeExecutor({ logLineMaxBytes: 64 });
    const context = createTestContext();
    const program = [
      // stdout and stderr are two pipes in the engine too: lines of both written within the same
      // millisecond may be swapped, so the program pauses where it switches streams.
      'import sys, time',
      'print("out 1", flush=True)',
      'time.sleep(0.1)',
      'print("err 1", file=sys.stderr, flush=True)',
      'print("err 1b", file=sys.stderr, flush=True)',
      'time.sleep(0.1)',
      'print("out 2", flush=True)',
      'time.sleep(0.1)',
      'print("err 2", file=sys.stderr, flush=True)',
      'time.sleep(0.1)',
      'sys.stdout.write("crlf\\r\\n" + "x" * 100 + "\\n"); sys.stdout.flush()',
      'time.sleep(1.5)',
      'sys.stdout.write("last without newline")',
    ].join('\n');
    const running = executor.run(testJob({ 'main.py': program }), context);
    let settled = false;
    void running.finally(() => (settled = true));
    await waitFor(() => (context.of('stdout').includes('crlf') ? true : undefined));
    expect(settled).toBe(false); // the lines came while the program still ran
    expect(context.of('stdout')).not.toContain('last without newline');
    const result = await running;

    expect(result.exitCode).toBe(0);
    expect(result.output).toBeUndefined();
    expect(context.lines.map(({ stream, line }) => `${stream}: ${line}`)).toEqual([
      'stdout: out 1',
      'stderr: err 1',
      'stderr: err 1b',
      'stdout: out 2',
      'stderr: err 2',
      'stdout: crlf',
      `stdout: ${'x'.repeat(64)} … [line cut: longer than 64 bytes]`,
      'stdout: last without newline',
    ]);
  });

  it('a program that raises: exit code 1, its traceback on stderr', async () => {
    const executor = await makeExecutor();
    const crash = createTestContext();
    const crashed = await executor.run(testJob({ 'main.py': 'def f():\n    raise ValueError("boom")\nf()' }), crash);
    expect(crashed.exitCode).toBe(1);
    expect(crash.of('stderr')).toContain('ValueError: boom');
  });

  it("gives the program its environment: TENSORIFY_*, config.env, job.env, HOME and cwd, none of the server's variables", async () => {
    process.env.TENSORIFY_TEST_SERVER_SECRET = 'must-not-leak';
    try {
      const executor = await makeExecutor({ env: { FROM_CONFIG: 'config', SHARED: 'config' } });
      const context = createTestContext();
      const program = [
        'import json, os',
        'names = ["TENSORIFY_EXECUTION_ID", "TENSORIFY_WORKFLOW_ID", "TENSORIFY_DEVICE", "TENSORIFY_INPUTS", "TENSORIFY_OUTPUT", "FROM_CONFIG", "FROM_JOB", "SHARED", "HOME", "TENSORIFY_TEST_SERVER_SECRET"]',
        'env = {name: os.environ.get(name) for name in names}',
        'env["cwd"] = os.getcwd()',
        'env["files"] = sorted(os.listdir("."))',
        'json.dump(env, open(os.environ["TENSORIFY_OUTPUT"], "w"))',
      ].join('\n');
      const run = testJob({ 'main.py': program }, { inputs: { a: 1 }, env: { FROM_JOB: 'job', SHARED: 'job', TENSORIFY_OUTPUT: '/tmp/elsewhere' } });
      const result = await executor.run(run, context);
      expect(result.exitCode).toBe(0);
      expect(result.output).toEqual({
        TENSORIFY_EXECUTION_ID: run.executionId,
        TENSORIFY_WORKFLOW_ID: 'wf_test',
        TENSORIFY_DEVICE: 'cpu',
        TENSORIFY_INPUTS: '{"a":1}',
        TENSORIFY_OUTPUT: '/tensorify/run/.tensorify-output.json',
        FROM_CONFIG: 'config',
        FROM_JOB: 'job',
        SHARED: 'job',
        HOME: '/tensorify/run',
        TENSORIFY_TEST_SERVER_SECRET: null,
        cwd: '/tensorify/run',
        files: ['main.py', 'requirements.txt', 'utils.py'],
      });
    } finally {
      delete process.env.TENSORIFY_TEST_SERVER_SECRET;
    }
  });

  it('passes inputs too large for one environment variable as --inputs FILE', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const big = 'y'.repeat(200 * 1024);
    const program =
      'import json, os, sys\ninputs = json.load(open(sys.argv[2]))\njson.dump({"size": len(inputs["big"]), "env": "TENSORIFY_INPUTS" in os.environ}, open(os.environ["TENSORIFY_OUTPUT"], "w"))';
    const result = await executor.run(testJob({ 'main.py': program }, { inputs: { big } }), context);
    expect(result.output).toEqual({ size: big.length, env: false });
    expect(context.of('system')).toEqual([expect.stringContaining('passed as --inputs .tensorify-inputs.json')]);
  });

  it('applies the limits and options: memory, cpus, pids, network none, user', async () => {
    const executor = await makeExecutor({ memory: '256m', cpus: 1.5, pidsLimit: 64, network: 'none', user: '1000:1000' });
    const context = createTestContext();
    const program = [
      'import json, os',
      'def read(*paths):',
      '    for p in paths:',
      '        try:',
      '            return open(p).read().strip()',
      '        except OSError:',
      '            pass',
      'json.dump({',
      '  "memory": read("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"),',
      '  "cpu": read("/sys/fs/cgroup/cpu.max") or (read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us") + " " + read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")),',
      '  "pids": read("/sys/fs/cgroup/pids/pids.max", "/sys/fs/cgroup/pids.max"),',
      '  "interfaces": sorted(os.listdir("/sys/class/net")),',
      '  "uid": os.getuid(), "gid": os.getgid(),',
      '}, open(os.environ["TENSORIFY_OUTPUT"], "w"))',
    ].join('\n');
    const result = await executor.run(testJob({ 'main.py': program }), context);
    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual({ memory: String(256 * 1024 * 1024), cpu: '150000 100000', pids: '64', interfaces: ['lo'], uid: 1000, gid: 1000 });

    // The default network mode is bridge: the container has an interface besides lo.
    const bridged = createTestContext();
    const onBridge = await (
      await makeExecutor()
    ).run(testJob({ 'main.py': 'import json, os\njson.dump(sorted(os.listdir("/sys/class/net")), open(os.environ["TENSORIFY_OUTPUT"], "w"))' }), bridged);
    expect(onBridge.output).toEqual(expect.arrayContaining(['lo', 'eth0']));
  });

  it('reports a program killed for passing its memory limit, with a clear system line', async () => {
    const executor = await makeExecutor({ memory: '64m' });
    const context = createTestContext();
    const program = 'print("allocating", flush=True)\nblocks = [b"x" * (1 << 20) for _ in range(500)]\nprint("survived", len(blocks))';
    const result = await executor.run(testJob({ 'main.py': program }), context);
    expect(result.exitCode).toBe(137);
    expect(context.of('stdout')).toEqual(['allocating']);
    expect(context.of('system')).toContain('The container ran out of memory (limit 64 MiB) and was killed');
  });

  it('asks the engine for GPUs for a gpu run (TENSORIFY_DEVICE=cuda); an engine without any refuses: ExecutorUnavailableError', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const run = testJob({ 'main.py': 'print("never runs")' }, { gpu: true });
    await expect(executor.run(run, context)).rejects.toThrow(ExecutorUnavailableError);
    await expect(executor.run(testJob({ 'main.py': '' }, { gpu: true }), createTestContext())).rejects.toThrow(/cannot give this run a GPU/);
    expect(await containersOf(run.executionId)).toEqual([]);
  });
});

describe('docker executor: cancel and timeout', () => {
  const sleeper = 'import signal, time\nprint("ready", flush=True)\ntime.sleep(60)';

  it('cancel stops the container and removes it before run resolves', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    const run = testJob({ 'main.py': sleeper });
    const running = executor.run(run, context);
    await waitFor(() => (context.of('stdout').includes('ready') ? true : undefined));
    expect(await containersOf(run.executionId)).toHaveLength(1);
    const started = Date.now();
    context.abort('cancelled');
    const result = await running;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect([null, 137]).toContain(result.exitCode);
    expect(await containersOf(run.executionId)).toEqual([]);
    expect(context.of('system')).toContain(`stopping container ${context.externalIds[0]} (the run was cancelled): SIGTERM`);
  });

  it('timeout stops a program that ignores SIGTERM with SIGKILL after killGraceSeconds', async () => {
    const executor = await makeExecutor({ killGraceSeconds: 1 });
    const context = createTestContext();
    const run = testJob({ 'main.py': 'import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint("ready", flush=True)\ntime.sleep(60)' });
    const running = executor.run(run, context);
    await waitFor(() => (context.of('stdout').includes('ready') ? true : undefined));
    const started = Date.now();
    context.abort('timed_out');
    const result = await running;
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(1_000);
    expect(elapsed).toBeLessThan(6_000);
    expect([null, 137]).toContain(result.exitCode);
    expect(context.of('system')).toEqual([
      `stopping container ${context.externalIds[0]} (the run timed out): SIGTERM`,
      `container ${context.externalIds[0]} still running after 1 s: SIGKILL`,
    ]);
    expect(await containersOf(run.executionId)).toEqual([]);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const executor = await makeExecutor();
    const context = createTestContext();
    context.abort('cancelled');
    const run = testJob({ 'main.py': sleeper });
    expect(await executor.run(run, context)).toEqual({ exitCode: null });
    expect(context.externalIds).toEqual([]);
  });
});

describe('docker executor: engine, images and capabilities', () => {
  it('an unreachable engine: ExecutorUnavailableError naming it, quickly; capabilities unhealthy', async () => {
    const missing = path.join(tempDir(), 'no-such-dir', 'docker.sock');
    const executor = await makeExecutor({ socketPath: missing });
    const started = Date.now();
    const failure = executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext());
    await expect(failure).rejects.toThrow(ExecutorUnavailableError);
    await expect(failure).rejects.toThrow(`docker executor: cannot reach the Docker engine at unix://${missing}: connect ENOENT ${missing}`);
    expect(Date.now() - started).toBeLessThan(5_000);

    const asked = Date.now();
    const capabilities = await executor.capabilities();
    expect(Date.now() - asked).toBeLessThan(2_500);
    expect(capabilities).toEqual({
      gpu: false,
      healthy: false,
      detail: expect.stringContaining(`cannot reach the Docker engine at unix://${missing}: connect ENOENT`),
    });
    expect(await executor.recovered).toBe(0);

    // A TCP engine that refuses the connection.
    const refused = await makeExecutor({ socketPath: undefined, host: '127.0.0.1', port: 9 });
    await expect(refused.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      /cannot reach the Docker engine at http:\/\/127\.0\.0\.1:9: .*ECONNREFUSED/,
    );
  });

  it("capabilities: healthy with the engine's version, CPUs and the image; gpu by the nvidia runtime or the config", async () => {
    const executor = await makeExecutor();
    const started = Date.now();
    const capabilities = await executor.capabilities();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(capabilities).toEqual({ gpu: false, healthy: true, detail: expect.stringMatching(new RegExp(`^Docker \\S+, \\d+ CPUs, image ${IMAGE} present$`)) });
    expect(await executor.capabilities()).toBe(capabilities); // cached for a moment

    expect(await (await makeExecutor({ gpu: true })).capabilities()).toMatchObject({ gpu: true, healthy: true });
    expect(await (await makeExecutor({ image: 'tensorify-test-missing:none' })).capabilities()).toEqual({
      gpu: false,
      healthy: false,
      detail: expect.stringContaining('image tensorify-test-missing:none missing (pullPolicy "never": runs fail)'),
    });
    expect(await (await makeExecutor({ image: 'tensorify-test-missing:none', pullPolicy: 'if-missing' })).capabilities()).toMatchObject({ healthy: true });
  });

  it('a missing image with pullPolicy "never", or one that cannot be pulled: ExecutorUnavailableError naming the image and why', async () => {
    const never = await makeExecutor({ image: 'tensorify-test-missing:none' });
    await expect(never.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      new ExecutorUnavailableError(
        'docker executor: the image tensorify-test-missing:none is not on the Docker engine and pullPolicy is "never": load it there (docker pull, docker load) or set pullPolicy to "if-missing"',
      ),
    );

    // A registry that refuses connections: the pull fails at once, offline.
    const unpullable = await makeExecutor({ image: '127.0.0.1:9/tensorify/missing:1', pullPolicy: 'if-missing' });
    const context = createTestContext();
    const started = Date.now();
    const failure = unpullable.run(testJob({ 'main.py': 'print(1)' }), context);
    await expect(failure).rejects.toThrow(ExecutorUnavailableError);
    await expect(failure).rejects.toThrow(
      /^docker executor: cannot pull the image 127\.0\.0\.1:9\/tensorify\/missing:1: .*(connection refused|127\.0\.0\.1:9)/,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(context.of('system')[0]).toBe('pulling the image 127.0.0.1:9/tensorify/missing:1');
  });

  it('an interpreter missing from the image: ExecutorUnavailableError; a user missing from it: a plain error', async () => {
    const noPython = await makeExecutor({ python: 'python9' });
    await expect(noPython.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toThrow(
      new ExecutorUnavailableError(`docker executor: the Python interpreter python9 cannot run in the image ${IMAGE}: No such file or directory`),
    );
    const noUser = await makeExecutor({ user: 'nosuchuser' });
    const error = await noUser.run(testJob({ 'main.py': 'print(1)' }), createTestContext()).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).not.toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toMatch(/^docker executor: the container cannot start: .*nosuchuser/);
  });

  it('create() removes labelled containers left by a previous server process, and nothing else', async () => {
    let deadPid = 4_000_000;
    while (isAlive(deadPid)) deadPid -= 1;
    const make = async (labels: Record<string, string>, start: boolean): Promise<string> => {
      const container = await engine.createContainer({ Image: IMAGE, Cmd: ['sleep', '300'], Labels: labels, HostConfig: { NetworkMode: 'none' } });
      if (start) await container.start();
      return container.id;
    };
    const leftover = { 'tensorify.executor': 'docker', 'tensorify.execution': `exec_leftover_${RUN_ID}`, 'tensorify.role': 'run' };
    const ids = {
      deadProcess: await make({ ...leftover, 'tensorify.host': os.hostname(), 'tensorify.pid': String(deadPid), 'tensorify.instance': 'gone' }, true),
      unattributed: await make(leftover, false),
      otherHost: await make({ ...leftover, 'tensorify.host': 'another-machine', 'tensorify.pid': '1', 'tensorify.instance': 'x' }, false),
      liveProcess: await make({ ...leftover, 'tensorify.host': os.hostname(), 'tensorify.pid': String(process.ppid), 'tensorify.instance': 'y' }, false),
      unlabelled: await make({ 'tensorify.test': RUN_ID }, true),
    };
    try {
      const executor = await makeExecutor();
      // Usually 2 (more if an earlier test process was killed mid-run); fewer only when another
      // test process sharing the engine started an executor meanwhile and removed them first.
      expect(typeof (await executor.recovered)).toBe('number');
      const left = (await engine.listContainers({ all: true })).map((container) => container.Id);
      expect(left).not.toContain(ids.deadProcess);
      expect(left).not.toContain(ids.unattributed);
      expect(left).toEqual(expect.arrayContaining([ids.otherHost, ids.liveProcess, ids.unlabelled]));
    } finally {
      await Promise.all(
        Object.values(ids).map((id) =>
          engine
            .getContainer(id)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
    }
  });
});

describe('docker executor: requirements in a derived image', () => {
  let wheels: string;
  const builtImages = new Set<string>();
  /** Unique to this test run, so that the derived image's hash is new and its first build is real. */
  const token = `${RUN_ID}${Date.now().toString(36)}`;

  beforeAll(() => {
    wheels = tempDir();
    buildWheel(wheels, 'tinygreet', '1.0', `TOKEN = "${token}"\n\ndef greet(name):\n    return "Hi, " + name + "!"\n`);
  });

  afterAll(async () => {
    // The derived images this process built (they carry its builder's labels), whether or not a test saw them.
    const images = await engine.listImages({ filters: { label: ['tensorify.role=venv', `tensorify.pid=${process.pid}`] } });
    const tags = new Set([...builtImages, ...images.map((image) => image.Id)]);
    for (const tag of tags)
      await engine
        .getImage(tag)
        .remove({ force: true })
        .catch(() => undefined);
  });

  const program =
    'import json, os, tinygreet\nprint(tinygreet.greet("Ada"), flush=True)\njson.dump({"greeting": tinygreet.greet("Ada"), "token": tinygreet.TOKEN}, open(os.environ["TENSORIFY_OUTPUT"], "w"))';
  const tagIn = (context: TestContext): string | undefined => {
    const line = context.of('system').find((text) => text.startsWith('requirements installed in the image '));
    return line?.slice('requirements installed in the image '.length);
  };

  it('builds the image once for concurrent runs, from a local wheel offline, and reuses it afterwards', async () => {
    const executor = await makeExecutor({ pipArgs: ['--no-index'], pipFindLinksDir: wheels, buildNetwork: 'none' });
    const files = { 'main.py': program, 'requirements.txt': '# packages\ntinygreet==1.0\n' };
    const first = createTestContext();
    const second = createTestContext();
    const started = Date.now();
    const [one, two] = await Promise.all([executor.run(testJob(files), first), executor.run(testJob(files), second)]);
    const firstDuration = Date.now() - started;
    for (const [result, context] of [
      [one, first],
      [two, second],
    ] as const) {
      expect(result.exitCode).toBe(0);
      expect(result.output).toEqual({ greeting: 'Hi, Ada!', token });
      expect(context.of('stdout')).toEqual(['Hi, Ada!']);
    }
    const tag = tagIn(first)!;
    builtImages.add(tag);
    expect(tag).toMatch(/^tensorify-venv:[0-9a-f]{32}$/);
    expect(tagIn(second)).toBe(tag);
    const all = [...first.of('system'), ...second.of('system')];
    expect(all.filter((line) => line.startsWith('building the image '))).toHaveLength(1);
    expect(all.filter((line) => line.startsWith('waiting for the image '))).toHaveLength(1);
    // pip's own output reached both runs' logs
    expect(first.of('system')).toEqual(expect.arrayContaining([expect.stringMatching(/^Successfully installed tinygreet-1\.0/)]));
    expect(second.of('system')).toEqual(expect.arrayContaining([expect.stringMatching(/^Successfully installed tinygreet-1\.0/)]));
    const image = await engine.getImage(tag).inspect();
    expect(image.Config.Labels).toMatchObject({ 'tensorify.executor': 'docker', 'tensorify.role': 'venv' });

    // Again, with the same requirements written differently: the image is reused, no build.
    const third = createTestContext();
    const again = Date.now();
    const reused = await executor.run(testJob({ ...files, 'requirements.txt': 'tinygreet==1.0  # same\n\ntinygreet==1.0\n' }), third);
    const reuseDuration = Date.now() - again;
    expect(reused.output).toEqual({ greeting: 'Hi, Ada!', token });
    expect(third.of('system')).toEqual([`requirements installed in the image ${tag}`]);
    expect(reuseDuration).toBeLessThan(firstDuration / 2);
  });

  it("a failed install fails the run with pip's last lines (not EXECUTOR_UNAVAILABLE) and caches nothing", async () => {
    const executor = await makeExecutor({ pipArgs: ['--no-index'], pipFindLinksDir: wheels, buildNetwork: 'none' });
    const context = createTestContext();
    const run = testJob({ 'main.py': program, 'requirements.txt': `tinygreet==1.0\nno-such-package-${token}==9.9\n` });
    const error = await executor.run(run, context).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ExecutorUnavailableError);
    expect((error as Error).message).toMatch(
      /^docker executor: installing the requirements failed \(exit code 1\):\n[\s\S]*No matching distribution found for no-such-package/,
    );
    const building = context.of('system').find((line) => line.startsWith('building the image '))!;
    const tag = /^building the image (\S+)/.exec(building)![1];
    await expect(engine.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(context.externalIds).toEqual([]);
  });

  it('cancel during the build stops it: no program, no image, no builder container', async () => {
    const executor = await makeExecutor({ pipArgs: ['--no-index'], pipFindLinksDir: wheels, buildNetwork: 'none' });
    const context = createTestContext();
    const run = testJob({ 'main.py': program, 'requirements.txt': 'tinygreet==1.0 ; python_version >= "3"\n' });
    const running = executor.run(run, context);
    const building = await waitFor(() => context.of('system').find((line) => line.startsWith('building the image ')));
    const tag = /^building the image (\S+)/.exec(building)![1];
    await waitFor(() => (context.of('system').some((line) => line.startsWith('$ python -m venv')) ? true : undefined));
    context.abort('cancelled');
    expect(await running).toEqual({ exitCode: null });
    expect(context.of('system')).toContain('stopped while preparing the image: the program did not start');
    expect(context.externalIds).toEqual([]);
    await expect(engine.getImage(tag).inspect()).rejects.toMatchObject({ statusCode: 404 });
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
