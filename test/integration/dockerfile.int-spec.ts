import { spawnSync, SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Api, bearerApi, commandFailure as failure, readExample, runHelloExample } from '../support/black-box';

/**
 * The Dockerfile, built and run: `docker build` of this tree with the classic builder, then the
 * image as the README runs it (`-v VOLUME:/data -e TENSORIFY_BOOTSTRAP_API_KEY=…`), through create →
 * export → execute of ../shared/examples/hello.json, `docker stop`, and a second container on the
 * same volume that still has the workflow and the run.
 *
 * No registry is reachable here, so the base image is a stand-in for node:20-bookworm-slim with its
 * layout, made by scripts/ci/docker/build-node-base-image.sh (.ci/run makes it); the build's
 * `apt-get` and `npm ci` need Debian's mirror and the npm registry, reached with `--network host`
 * because the test engine gives containers no route out.
 *
 * Environment: TENSORIFY_TEST_DOCKER_SOCKET (default /tmp/tensorify-docker/docker.sock),
 * TENSORIFY_NODE_BASE_IMAGE (default tensorify-node-base:20-bookworm-slim).
 */
const REPO = path.resolve(__dirname, '..', '..');
const SOCKET = process.env.TENSORIFY_TEST_DOCKER_SOCKET || '/tmp/tensorify-docker/docker.sock';
const BASE_IMAGE = process.env.TENSORIFY_NODE_BASE_IMAGE || 'tensorify-node-base:20-bookworm-slim';
const IMAGE = 'tensorify-server:int-test';
const ADMIN_KEY = 'tfy_DockerfileTestKey0123456789abcdefghijklmnop';
const BUILD_TIMEOUT_MS = 20 * 60_000;

function docker(args: string[], timeoutMs = 120_000): SpawnSyncReturns<string> {
  return spawnSync('docker', ['-H', `unix://${SOCKET}`, ...args], {
    cwd: REPO,
    env: { ...process.env, DOCKER_BUILDKIT: '0' },
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
}

/** `docker …` that must succeed; its trimmed stdout. */
function dockerOk(what: string, args: string[], timeoutMs?: number): string {
  const result = docker(args, timeoutMs);
  if (result.status !== 0) throw failure(what, result);
  return result.stdout.trim();
}

const inspect = <T>(format: string, target: string): T =>
  JSON.parse(dockerOk(`docker inspect ${target}`, ['inspect', '--format', `{{json ${format}}}`, target])) as T;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describe('The Dockerfile: build → run as non-root with /data in a volume → create → export → execute → a new container keeps the data', () => {
  const suffix = randomBytes(4).toString('hex');
  const volume = `tensorify-int-data-${suffix}`;
  const containers: string[] = [];
  const timings: string[] = [];
  let workflowId = '';
  let executionId = '';

  /** Starts a container of the image on the volume, as the README does; resolves to its base URL once /health answers. */
  async function startContainer(name: string): Promise<string> {
    containers.push(name);
    const started = Date.now();
    dockerOk(`docker run ${name}`, [
      'run',
      '-d',
      '--name',
      name,
      '-p',
      '127.0.0.1::3000',
      '-v',
      `${volume}:/data`,
      '-e',
      `TENSORIFY_BOOTSTRAP_API_KEY=${ADMIN_KEY}`,
      IMAGE,
    ]);
    const port = dockerOk(`docker port ${name}`, ['port', name, '3000/tcp']).split('\n')[0].split(':').pop();
    const baseUrl = `http://127.0.0.1:${port}`;
    for (const deadline = Date.now() + 60_000; ;) {
      const ok = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2000) }).then(
        (res) => res.ok,
        () => false,
      );
      if (ok) break;
      const running = inspect<boolean>('.State.Running', name);
      if (!running || Date.now() > deadline) {
        const logs = docker(['logs', '--tail', '40', name]);
        throw new Error(`container ${name} ${running ? 'did not answer /health within 60 s' : 'exited'}:\n${logs.stdout}${logs.stderr}`);
      }
      await sleep(250);
    }
    process.stderr.write(`${name} answers at ${baseUrl}\n`);
    timings.push(`${name}: run until /health answers: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return baseUrl;
  }

  /** Stops a container as `docker stop` does (SIGTERM, through tini) and returns its exit code. */
  function stopContainer(name: string): number {
    const started = Date.now();
    dockerOk(`docker stop ${name}`, ['stop', '--time', '20', name], 60_000);
    timings.push(`${name}: docker stop: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return inspect<number>('.State.ExitCode', name);
  }

  beforeAll(() => {
    if (!existsSync(SOCKET)) throw new Error(`no Docker engine at ${SOCKET}: start one with scripts/ci/docker/start-dockerd.sh (.ci/run does)`);
    if (docker(['image', 'inspect', BASE_IMAGE]).status !== 0) {
      throw new Error(`the base image ${BASE_IMAGE} is missing: make it with scripts/ci/docker/build-node-base-image.sh (.ci/run does)`);
    }
    const started = Date.now();
    const build = docker(['build', '--network', 'host', '--build-arg', `NODE_IMAGE=${BASE_IMAGE}`, '-t', IMAGE, '.'], BUILD_TIMEOUT_MS);
    if (build.status !== 0) {
      const offline = /Could not resolve|Temporary failure resolving|ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT/i.test(`${build.stdout}${build.stderr}`);
      throw failure(offline ? "docker build (Debian's mirror or the npm registry could not be reached)" : 'docker build', build);
    }
    timings.push(`docker build: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, BUILD_TIMEOUT_MS + 30_000);

  afterAll(() => {
    for (const name of containers) docker(['rm', '--force', '--volumes', name]);
    docker(['volume', 'rm', '--force', volume]);
    process.stderr.write(`Dockerfile test timings:\n  ${timings.join('\n  ')}\n`);
  });

  it('declares a non-root user, the /data volume, port 3000, a health check, and tini as PID 1', () => {
    const config = inspect<Record<string, any>>('.Config', IMAGE);
    expect(config.User).toBe('node');
    expect(Object.keys(config.Volumes ?? {})).toEqual(['/data']);
    expect(Object.keys(config.ExposedPorts ?? {})).toEqual(['3000/tcp']);
    expect(config.Healthcheck?.Test?.join(' ')).toContain('/health');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '--']);
    expect(config.Env).toEqual(expect.arrayContaining(['TENSORIFY_DATA_DIR=/data', 'NODE_ENV=production']));
    const size = Number(dockerOk('docker image inspect', ['image', 'inspect', '--format', '{{.Size}}', IMAGE]));
    timings.push(`image size: ${(size / 1024 / 1024).toFixed(0)} MiB`);
  });

  it('holds the npm package and its production dependencies only, owned by root and read-only to the server user', () => {
    const listing = dockerOk('listing /app', [
      'run',
      '--rm',
      '--network',
      'none',
      '--entrypoint',
      'sh',
      IMAGE,
      '-c',
      'cd /app && ls -A && echo --- && ls node_modules/@tensorify && echo --- && ls node_modules/.bin/tsc node_modules/jest node_modules/typescript 2>&1; echo --- && (touch /app/x 2>&1 || echo read-only) && id -u',
    ]);
    const [top, scoped, devDeps, write] = listing.split('---\n').map((part) => part.trim().split('\n'));
    expect(top.sort()).toEqual(['README.md', 'assets', 'bin', 'codegen-templates', 'dist', 'node_modules', 'package.json', 'plugins']);
    expect(scoped).toEqual(['executor-sdk']);
    expect(devDeps.every((line) => /No such file/.test(line))).toBe(true);
    expect(write[write.length - 2]).toBe('read-only');
    expect(write[write.length - 1]).toBe('1000');
  });

  it('runs from the README: the first container answers, as uid 1000, with the SQLite file in the volume', async () => {
    const baseUrl = await startContainer(`tensorify-int-a-${suffix}`);
    const processes = dockerOk('docker top', ['top', `tensorify-int-a-${suffix}`, '-o', 'pid,uid,args'])
      .split('\n')
      .slice(1);
    const server = processes.find((line) => line.includes('tensorify-server.js start'));
    expect(server).toBeDefined();
    expect(server!.trim().split(/\s+/)[1]).toBe('1000');
    expect(dockerOk('stat /data', ['exec', `tensorify-int-a-${suffix}`, 'stat', '-c', '%u %n', '/data', '/data/tensorify.db']).split('\n')).toEqual([
      '1000 /data',
      '1000 /data/tensorify.db',
    ]);

    const api = bearerApi(baseUrl, ADMIN_KEY);
    const started = Date.now();
    let execution: Record<string, any>;
    ({ workflowId, executionId, execution } = await runHelloExample(api));
    timings.push(`create, export and execute hello in the container until completed: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(execution).toMatchObject({ status: 'completed', executor: 'local', output: readExample('hello.expected-output.json'), error: null, exitCode: 0 });

    const { executors } = (await api('GET', '/v1/executors')).body as { executors: { id: string; loadError?: string }[] };
    expect(executors.map((executor) => executor.id)).toEqual(expect.arrayContaining(['local', 'docker', 'ssh']));
    expect(executors.filter((executor) => executor.loadError !== undefined)).toEqual([]);

    // docker stop sends SIGTERM to tini, which forwards it: the server shuts down cleanly.
    expect(stopContainer(`tensorify-int-a-${suffix}`)).toBe(0);
  }, 180_000);

  it('keeps the data in the volume: a new container has the workflow and its run, and reports healthy', async () => {
    if (!workflowId || !executionId) throw new Error('the first container did not create the workflow and its run (see the previous test)');
    const name = `tensorify-int-b-${suffix}`;
    const api: Api = bearerApi(await startContainer(name), ADMIN_KEY);

    const workflow = await api('GET', `/v1/workflows/${workflowId}`);
    expect(workflow.status).toBe(200);
    expect(workflow.body.id).toBe(workflowId);
    const execution = await api('GET', `/v1/executions/${executionId}`);
    expect(execution.body).toMatchObject({ status: 'completed', output: readExample('hello.expected-output.json') });

    // The image's HEALTHCHECK (first probe after 15 s) marks the container healthy.
    const started = Date.now();
    let health = '';
    for (const deadline = Date.now() + 90_000; Date.now() < deadline; await sleep(1000)) {
      health = inspect<{ Status: string }>('.State.Health', name).Status;
      if (health !== 'starting') break;
    }
    timings.push(`${name}: health check reports ${health} after ${((Date.now() - started) / 1000).toFixed(1)} s more`);
    expect(health).toBe('healthy');
    expect(stopContainer(name)).toBe(0);
  }, 180_000);
});
