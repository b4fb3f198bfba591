/**
 * What the docker executor's engine suites share: the engine and image of scripts/ci/docker
 * (TENSORIFY_TEST_DOCKER_SOCKET, default /tmp/tensorify-docker/docker.sock; TENSORIFY_TEST_DOCKER_IMAGE,
 * default tensorify-test-python:bookworm), checked before the file's tests; temporary dirs and
 * executors on that engine, closed and removed after them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Docker from 'dockerode';
import { type PluginLogger, silentLogger } from '@tensorify/executor-sdk';
import docker, { DockerExecutor, type DockerExecutorConfig } from '../src/index';

export const SOCKET = process.env.TENSORIFY_TEST_DOCKER_SOCKET || '/tmp/tensorify-docker/docker.sock';
export const IMAGE = process.env.TENSORIFY_TEST_DOCKER_IMAGE || 'tensorify-test-python:bookworm';
export const engine = new Docker({ socketPath: SOCKET });

const tempDirs: string[] = [];
const executors: DockerExecutor[] = [];

// Jest loads this module once per test file: the hooks are that file's.
beforeAll(async () => {
  try {
    await engine.ping();
  } catch (error) {
    throw new Error(`no Docker engine at ${SOCKET} (${(error as Error).message}): start it with scripts/ci/docker/start-dockerd.sh`);
  }
  try {
    await engine.getImage(IMAGE).inspect();
  } catch (error) {
    throw new Error(`the image ${IMAGE} is missing (${(error as Error).message}): build it with scripts/ci/docker/build-test-image.sh`);
  }
});

afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
  tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

/** A new temporary directory, removed after the test file. */
export function tempDir(prefix = 'tensorify-docker-test-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** An executor on the test engine and image (never pulled), on a data dir of its own; closed after the test file. */
export async function makeExecutor(
  config: DockerExecutorConfig = {},
  logger: PluginLogger = silentLogger,
): Promise<{ executor: DockerExecutor; dataDir: string }> {
  const dataDir = tempDir();
  const executor = (await docker.create(
    { socketPath: SOCKET, image: IMAGE, pullPolicy: 'never', killGraceSeconds: 2, ...config },
    { dataDir, logger },
  )) as DockerExecutor;
  executors.push(executor);
  return { executor, dataDir };
}

/** Writes a minimal pure-Python wheel (one module) into `dir`, with the host's python3 and nothing else. */
export function buildWheel(dir: string, name: string, version: string, source: string): string {
  const script = [
    'import base64, hashlib, sys, zipfile',
    'out, name, version, source = sys.argv[1:5]',
    'dist = f"{name}-{version}.dist-info"',
    'files = {',
    '    f"{name}/__init__.py": source,',
    '    f"{dist}/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n",',
    '    f"{dist}/WHEEL": "Wheel-Version: 1.0\\nGenerator: tensorify-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",',
    '}',
    'record = []',
    'path = f"{out}/{name}-{version}-py3-none-any.whl"',
    'with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:',
    '    for file, text in files.items():',
    '        data = text.encode()',
    '        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()',
    '        record.append(f"{file},sha256={digest},{len(data)}")',
    '        wheel.writestr(file, data)',
    '    record.append(f"{dist}/RECORD,,")',
    '    wheel.writestr(f"{dist}/RECORD", "\\n".join(record) + "\\n")',
    'print(path)',
  ].join('\n');
  return execFileSync('python3', ['-c', script, dir, name, version, source], { encoding: 'utf8' }).trim();
}
