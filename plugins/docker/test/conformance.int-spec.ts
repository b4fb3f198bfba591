/**
 * The docker executor passes the SDK's executor conformance suite, against the engine and image of
 * docker-executor.int-spec.ts (scripts/ci/docker/start-dockerd.sh, build-test-image.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeExecutorConformance, readProgram, silentLogger } from '@tensorify/executor-sdk';
import docker from '../src/index';

const SOCKET = process.env.TENSORIFY_TEST_DOCKER_SOCKET || '/tmp/tensorify-docker/docker.sock';
const IMAGE = process.env.TENSORIFY_TEST_DOCKER_IMAGE || 'tensorify-test-python:bookworm';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-docker-conformance-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The containers' memory limit (`memory`): the suite's memory limit case runs with it. */
const MEMORY_LIMIT_MB = 256;

describeExecutorConformance(
  () =>
    docker.create(
      { socketPath: SOCKET, image: IMAGE, pullPolicy: 'never', killGraceSeconds: 1, memory: `${MEMORY_LIMIT_MB}m` },
      { dataDir, logger: silentLogger },
    ),
  {
    name: 'docker executor: conformance',
    hello: readProgram(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'golden', 'hello')),
    memoryLimitMb: MEMORY_LIMIT_MB,
  },
);
