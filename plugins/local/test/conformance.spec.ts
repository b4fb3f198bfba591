/** The local executor passes the SDK's executor conformance suite (real python3 processes). */
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeExecutorConformance, readProgram, silentLogger } from '@tensorify/executor-sdk';
import local from '../src/index';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-local-conformance-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Each run's memory limit: the suite's memory limit case runs with it. */
const MEMORY_LIMIT_MB = 256;

describeExecutorConformance(
  () => local.create({ python: 'python3', killGraceSeconds: 1, memoryLimitMb: MEMORY_LIMIT_MB, warm: { enabled: false } }, { dataDir, logger: silentLogger }),
  {
    name: 'local executor: conformance (cold starts)',
    hello: readProgram(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'golden', 'hello')),
    memoryLimitMb: MEMORY_LIMIT_MB,
  },
);
