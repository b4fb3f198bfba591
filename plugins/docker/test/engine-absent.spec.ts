/**
 * The docker executor on a machine without Docker (no engine needed): a plugin nobody configured
 * stays quiet about its leftover check; one pointed at an engine says it cannot reach it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestContext, ExecutorUnavailableError, testJob } from '@tensorify/executor-sdk';
import Docker from 'dockerode';
import { resolveConfig } from '../src/config';
import { engineAbsentAndUnconfigured } from '../src/engine';
import { DockerExecutor } from '../src/executor';

let dir: string;
let missingSocket: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-docker-absent-'));
  missingSocket = path.join(dir, 'docker.sock');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The error the engine client really gives when nothing is at the socket. */
async function noEngineError(): Promise<unknown> {
  return new Docker({ socketPath: missingSocket }).ping().then(
    () => {
      throw new Error('an engine answered');
    },
    (error: unknown) => error,
  );
}

describe('docker executor without a Docker engine', () => {
  it('no engine at the default socket and none configured (no socketPath, host or DOCKER_HOST): Docker is absent, not broken', async () => {
    const error = await noEngineError();
    expect(engineAbsentAndUnconfigured(resolveConfig({}), {}, error)).toBe(true);
  });

  it('an engine that is configured, or named by DOCKER_HOST, and cannot be reached is worth a warning', async () => {
    const error = await noEngineError();
    expect(engineAbsentAndUnconfigured(resolveConfig({ socketPath: missingSocket }), {}, error)).toBe(false);
    expect(engineAbsentAndUnconfigured(resolveConfig({ host: '127.0.0.1', port: 1 }), {}, error)).toBe(false);
    expect(engineAbsentAndUnconfigured(resolveConfig({}), { DOCKER_HOST: `unix://${missingSocket}` }, error)).toBe(false);
    expect(engineAbsentAndUnconfigured(resolveConfig({}), {}, Object.assign(new Error('server error'), { statusCode: 500 }))).toBe(false);
  });

  it('a configured engine that is not there: the leftover check warns once, naming the endpoint', async () => {
    const logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const executor = new DockerExecutor(resolveConfig({ socketPath: missingSocket }), { dataDir: dir, logger });
    await expect(executor.recovered).resolves.toBe(0);
    await executor.close();
    expect(logger.warn).toHaveBeenCalledTimes(1);
    expect(logger.warn).toHaveBeenCalledWith('docker executor: cannot look for containers left by a previous server process', {
      endpoint: `unix://${missingSocket}`,
      error: expect.stringContaining('ENOENT'),
    });
    expect(logger.debug).not.toHaveBeenCalled();
  });

  it('a run looks for leftover containers first, without waiting for the delayed start of that check', async () => {
    const logger = { debug: jest.fn(), info: jest.fn(), warn: jest.fn(), error: jest.fn() };
    const executor = new DockerExecutor(resolveConfig({ socketPath: missingSocket }), { dataDir: dir, logger });
    try {
      expect(logger.warn).not.toHaveBeenCalled();
      await expect(executor.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toBeInstanceOf(ExecutorUnavailableError);
      expect(logger.warn).toHaveBeenCalledWith('docker executor: cannot look for containers left by a previous server process', expect.anything());
    } finally {
      await executor.close();
    }
  });
});
