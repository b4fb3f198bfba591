/**
 * The local executor passes the SDK's executor conformance suite in warm mode: every run of the
 * suite is a fork of the ready zygote (the wrapper fails a run that started cold).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeExecutorConformance, type Executor, readProgram, silentLogger } from '@tensorify/executor-sdk';
import local from '../src/index';
import type { LocalExecutor } from '../src/executor';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-local-conformance-warm-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Each run's memory limit: the suite's memory limit case runs with it (set in each fork, never in the zygote). */
const MEMORY_LIMIT_MB = 256;

const HELLO = readProgram(path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'golden', 'hello'));
const SDK_UTILS = readFileSync(path.join(__dirname, '..', '..', 'executor-sdk', 'conformance', 'utils.py'), 'utf8');

/** Runs only warm: a run the zygote did not fork fails the test. */
async function warmOnly(): Promise<Executor> {
  const executor = (await local.create(
    { python: 'python3', killGraceSeconds: 1, memoryLimitMb: MEMORY_LIMIT_MB, warm: { enabled: true } },
    { dataDir, logger: silentLogger },
  )) as LocalExecutor;
  await executor.prewarm({ 'main.py': HELLO['main.py'], 'utils.py': `${HELLO['utils.py']}\n${SDK_UTILS}` });
  const forks = (): number => executor.zygotes().reduce((sum, zygote) => sum + zygote.runs, 0);
  return {
    capabilities: () => executor.capabilities(),
    run: async (job, context) => {
      const before = forks();
      const result = await executor.run(job, context);
      assert.equal(forks(), before + 1, `the run was not forked from the zygote: ${JSON.stringify(executor.zygotes())}`);
      return result;
    },
    close: () => executor.close(),
  };
}

describeExecutorConformance(warmOnly, {
  name: 'local executor: conformance (warm starts)',
  hello: HELLO,
  memoryLimitMb: MEMORY_LIMIT_MB,
});
