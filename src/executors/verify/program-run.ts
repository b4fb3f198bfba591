import { createTestContext, testJob, type Executor, type ProgramFiles, type TestContext } from '@tensorify/executor-sdk';
import { TimeoutError, withTimeout } from '../../common/timeout';
import { formatDuration } from '../plugin-loader';

/** How one program fared in `executor.run()`: what it returned, or what it threw; the lines it logged either way. */
export type ProgramRun =
  { returned: true; result: unknown; context: TestContext; timedOut: boolean } | { returned: false; error: unknown; context: TestContext; hung: boolean };

/**
 * Runs `files` through `executor` with a fake context, as the server does: the signal aborts
 * (`timed_out`) at `timeoutMs`, and `run()` gets as long again to return after it. Used by
 * `plugins verify --run` for the hello program of an executor plugin and for the examples of a node pack.
 */
export async function runThrough(executor: Executor, files: Partial<ProgramFiles>, inputs: Record<string, unknown>, timeoutMs: number): Promise<ProgramRun> {
  const context = createTestContext();
  const job = testJob(files, { inputs: { ...inputs }, timeoutMs });
  const limit = setTimeout(() => context.abort('timed_out'), timeoutMs);
  limit.unref();
  try {
    const result = await withTimeout(
      Promise.resolve().then(() => executor.run(job, context)),
      2 * timeoutMs,
      `run() did not return within ${formatDuration(timeoutMs)} of its signal aborting`,
    );
    return { returned: true, result, context, timedOut: context.signal.aborted };
  } catch (error) {
    return { returned: false, error, context, hung: error instanceof TimeoutError };
  } finally {
    clearTimeout(limit);
  }
}
