import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { AbortReason, ExecutionContext, ExecutionJob, LogStream, PluginLogger, ProgramFiles } from './contract';

/** A fake {@link ExecutionContext} for tests: pass it to `run`, then look at what the executor did with it. */
export interface TestContext extends ExecutionContext {
  /** Every line logged, in order. */
  lines: { stream: LogStream; line: string }[];
  /** Every id given to `setExternalId`, in order. */
  externalIds: string[];
  /** How many times `started()` was called (an executor with `reportsStart` calls it once the program starts). */
  starts: number;
  /** The lines logged to one stream, in order. */
  of(stream: LogStream): string[];
  /** Aborts `signal` as the server does on a cancel, a timeout or a shutdown. */
  abort(reason: AbortReason): void;
}

/** Makes a {@link TestContext}: it records the lines and external ids, and its signal aborts with `abort(reason)`. */
export function createTestContext(): TestContext {
  const controller = new AbortController();
  const lines: TestContext['lines'] = [];
  const externalIds: string[] = [];
  const context: TestContext = {
    signal: controller.signal,
    lines,
    externalIds,
    starts: 0,
    log: (stream, line) => lines.push({ stream, line }),
    setExternalId: (id) => externalIds.push(id),
    started: () => void context.starts++,
    of: (stream) => lines.filter((entry) => entry.stream === stream).map((entry) => entry.line),
    abort: (reason) => controller.abort(reason),
  };
  return context;
}

/**
 * A {@link PluginLogger} that drops every line: the `host.logger` of tests that do not look at
 * what an executor logs.
 *
 * @example
 * const executor = await definition.create(config, { logger: silentLogger });
 */
export const silentLogger: PluginLogger = Object.freeze({
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
});

/** Tells this process's test jobs from another's (executors may name containers or directories after the execution id). */
const TEST_RUN = randomBytes(3).toString('hex');
let testJobs = 0;

/**
 * A job for tests: the given program files (missing ones are empty), no inputs, no env, no GPU, a
 * 60 s limit, `workflowId` `wf_test` and an `executionId` unique to the call
 * (`exec_test_<random>_<n>`). `overrides` replaces any field.
 */
export function testJob(files: Partial<ProgramFiles> = {}, overrides: Partial<ExecutionJob> = {}): ExecutionJob {
  testJobs += 1;
  return {
    executionId: `exec_test_${TEST_RUN}_${testJobs}`,
    workflowId: 'wf_test',
    workflowVersion: 1,
    files: { 'main.py': '', 'utils.py': '', 'requirements.txt': '', ...files },
    inputs: {},
    env: {},
    gpu: false,
    timeoutMs: 60_000,
    ...overrides,
  };
}

/** Reads a program exported by the server (`main.py`, `utils.py`, `requirements.txt`) from a directory. */
export function readProgram(dir: string): ProgramFiles {
  const read = (name: keyof ProgramFiles): string => readFileSync(path.join(dir, name), 'utf8');
  return { 'main.py': read('main.py'), 'utils.py': read('utils.py'), 'requirements.txt': read('requirements.txt') };
}
