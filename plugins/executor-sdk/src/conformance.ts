import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ExecutionResult, Executor, ProgramFiles } from './contract';
import { createTestContext, testJob, type TestContext } from './testing';

/** Options of {@link describeExecutorConformance}. */
export interface ConformanceOptions {
  /** The name of the `describe` block; default `executor conformance`. */
  name?: string;
  /**
   * The program of the hello test, e.g. one your server exported (see `readProgram`): given the
   * inputs `{"name": "Ada"}` it must exit 0 with the output `{"result": "Hello, Ada!"}`. Default:
   * the SDK's own (`conformance/hello.py`).
   */
  hello?: ProgramFiles;
  /**
   * How long a run may take to end once its signal aborts, in ms, the kill grace period included
   * (configure the executor with a short one); default 15 000.
   */
  stopWithinMs?: number;
  /** Each test's time limit, in ms (a first run may pull an image or open a connection); default 120 000. */
  testTimeoutMs?: number;
  /**
   * The test framework's `describe`, `it` and `afterAll` (or `after`), for one without globals
   * such as `node:test`: `framework: require('node:test')`. Default: the globals of Jest, Vitest
   * or Mocha.
   */
  framework?: TestFramework;
  /**
   * The memory limit, in MiB, your executor was configured with for each run: enables the
   * **memory limit** test (left out when unset). Give one of at least 64 MiB.
   */
  memoryLimitMb?: number;
}

/** The functions of a test framework the suite uses: `describe`, `it`, and `afterAll` or `after`; called unbound, as the globals are. */
export interface TestFramework {
  describe(this: void, name: string, body: () => void): unknown;
  it(this: void, name: string, body: () => Promise<void>, timeoutMs?: number): unknown;
  afterAll?(this: void, body: () => Promise<void>): unknown;
  after?(this: void, body: () => Promise<void>): unknown;
}

function testFunctions(framework: TestFramework = globalThis as unknown as TestFramework): Required<Pick<TestFramework, 'describe' | 'it' | 'afterAll'>> {
  const afterAll = framework.afterAll ?? framework.after;
  if (typeof framework.describe !== 'function' || typeof framework.it !== 'function' || typeof afterAll !== 'function') {
    throw new Error(
      "describeExecutorConformance needs describe, it and afterAll (or after): run it under Jest, Vitest or Mocha, or pass options.framework (e.g. require('node:test'))",
    );
  }
  return { describe: framework.describe, it: framework.it, afterAll };
}

/** The conformance programs, shipped with the SDK in `conformance/`: `<name>.py` as main.py, and the inputs helper as utils.py. */
function program(name: 'hello' | 'failure' | 'sleeper' | 'output' | 'logs' | 'environment' | 'memory'): Partial<ProgramFiles> {
  const read = (file: string): string => readFileSync(path.join(__dirname, '..', 'conformance', file), 'utf8');
  return { 'main.py': read(`${name}.py`), 'utils.py': read('utils.py') };
}

/**
 * Declares a test suite that any executor must pass, for Jest, Vitest, Mocha or `node:test` (see
 * {@link ConformanceOptions.framework}): real programs run by your executor's real `run`, watched
 * through a {@link TestContext}. `make` is called once, before the first test; the executor's
 * `close` after the last. Configure the executor so that it
 * can run `python3` programs without requirements, with a short kill grace period (a few seconds).
 *
 * The tests:
 * - **hello**: the hello program gives exit code 0 and its output, no stderr, and where the run
 *   lives (`setExternalId` or `ExecutionResult.externalId`);
 * - **failure**: a program that fails gives its exit code, its stderr lines in the log, no output;
 * - **cancel**: aborting the signal with `'cancelled'` ends the run (resolved, not rejected, with
 *   an exit code other than 0) within `stopWithinMs`, its child process included;
 * - **timeout**: the same with `'timed_out'`, for a program that ignores SIGTERM;
 * - **output**: the program's `TENSORIFY_OUTPUT` JSON is the result's output, with inputs too
 *   large for `TENSORIFY_INPUTS` (see `programInputs`) passed whole;
 * - **logs**: stdout and stderr lines, apart and in order, UTF-8 beyond ASCII, CRLF ends and a
 *   last line without newline;
 * - **environment**: nothing of the server's environment reaches the program (a secret set in
 *   `process.env` for the test, under a name and a value of its own), while the job's `env` and
 *   the standard `TENSORIFY_*` variables do;
 * - **memory limit** (only with {@link ConformanceOptions.memoryLimitMb}): a program filling
 *   twice the limit fails (exit code other than 0, no output) and the executor's own log
 *   (`system`) names the limit (`<n> MiB`, or GiB) with the word memory — the line the server
 *   quotes in the execution's error; a program filling a quarter of it succeeds, and so does the
 *   hello program after it.
 *
 * It checks what the contract lets the server see. Check the rest in your own tests: that the
 * processes are gone on the machine where they ran, that work dirs are removed, your configuration.
 *
 * @example
 * ```ts
 * // test/conformance.spec.ts
 * import { describeExecutorConformance } from '@tensorify/executor-sdk';
 * import definition from '../src/index';
 *
 * describeExecutorConformance(() =>
 *   definition.create({ python: 'python3', killGraceSeconds: 1 }, { dataDir: '/tmp/pypy-test', logger: console }),
 * );
 * ```
 */
export function describeExecutorConformance(make: () => Executor | Promise<Executor>, options: ConformanceOptions = {}): void {
  const { describe, it, afterAll } = testFunctions(options.framework);
  const stopWithinMs = options.stopWithinMs ?? 15_000;
  const timeoutMs = options.testTimeoutMs ?? 120_000;
  let made: Promise<Executor> | undefined;
  const executor = (): Promise<Executor> => (made ??= Promise.resolve(make()));

  /** Runs a job to its end, aborting it with `reason` once it printed "started". */
  async function runAndAbort(
    reason: 'cancelled' | 'timed_out',
    inputs: Record<string, unknown>,
  ): Promise<{ result: ExecutionResult; context: TestContext; stoppedInMs: number }> {
    const context = createTestContext();
    const running = (await executor()).run(testJob(program('sleeper'), { inputs }), context);
    let settled = false;
    running.then(
      () => (settled = true),
      () => (settled = true),
    );
    const deadline = Date.now() + timeoutMs / 2;
    while (!context.of('stdout').some((line) => line.startsWith('started '))) {
      assert.ok(!settled, `the sleeper ended before it started: ${JSON.stringify(context.lines)}`);
      assert.ok(Date.now() < deadline, `the sleeper did not start in ${timeoutMs / 2} ms: ${JSON.stringify(context.lines)}`);
      await new Promise((done) => setTimeout(done, 20));
    }
    const abortedAt = Date.now();
    context.abort(reason);
    const result = await running;
    return { result, context, stoppedInMs: Date.now() - abortedAt };
  }

  /** The ways a log line may write the limit: "256 MiB", and for whole GiB "1 GiB" too. */
  const limitTexts = (mb: number): string[] => [`${mb} MiB`, ...(mb % 1024 === 0 ? [`${mb / 1024} GiB`] : [])];

  describe(options.name ?? 'executor conformance', () => {
    afterAll(async () => {
      if (made) await (await made).close?.();
    });

    it(
      'hello: runs the program to exit code 0 and its output, and says where it ran',
      async () => {
        const context = createTestContext();
        const result = await (await executor()).run(testJob(options.hello ?? program('hello'), { inputs: { name: 'Ada' } }), context);
        assert.equal(result.exitCode, 0, `exit code ${result.exitCode}: ${JSON.stringify(context.lines)}`);
        assert.deepEqual(result.output, { result: 'Hello, Ada!' });
        assert.deepEqual(context.of('stderr'), []);
        assert.ok(
          result.externalId !== undefined || context.externalIds.length > 0,
          'neither setExternalId nor ExecutionResult.externalId said where the run lived',
        );
      },
      timeoutMs,
    );

    it(
      'failure: a failing program gives its exit code and its stderr, and no output',
      async () => {
        const context = createTestContext();
        const result = await (await executor()).run(testJob(program('failure')), context);
        assert.equal(result.exitCode, 3);
        assert.deepEqual(context.of('stderr'), ['failing on purpose']);
        assert.equal(result.output, undefined);
      },
      timeoutMs,
    );

    it(
      `cancel: an abort ('cancelled') ends the run and the child it started within ${stopWithinMs} ms`,
      async () => {
        const { result, stoppedInMs } = await runAndAbort('cancelled', {});
        assert.notEqual(result.exitCode, 0);
        assert.ok(stoppedInMs <= stopWithinMs, `the run took ${stoppedInMs} ms to end after the abort`);
      },
      timeoutMs,
    );

    it(
      `timeout: an abort ('timed_out') ends a program that ignores SIGTERM within ${stopWithinMs} ms`,
      async () => {
        const { result, stoppedInMs } = await runAndAbort('timed_out', { ignoreTerm: true });
        assert.notEqual(result.exitCode, 0);
        assert.ok(stoppedInMs <= stopWithinMs, `the run took ${stoppedInMs} ms to end after the abort`);
      },
      timeoutMs,
    );

    it(
      "output: the program's TENSORIFY_OUTPUT is the result's output; large inputs reach it whole",
      async () => {
        const executorNow = await executor();
        for (const inputs of [{ n: 1, nested: { list: [1, 'two', null] } }, { big: 'x'.repeat(200 * 1024) }]) {
          const context = createTestContext();
          const result = await executorNow.run(testJob(program('output'), { inputs }), context);
          assert.equal(result.exitCode, 0, `exit code ${result.exitCode}: ${JSON.stringify(context.lines.slice(-5))}`);
          assert.deepEqual(result.output, { inputs, text: 'ünïcödé ✓ 中文' });
        }
      },
      timeoutMs,
    );

    it(
      'logs: stdout and stderr lines apart and in order, UTF-8, CRLF, a last line without newline',
      async () => {
        const context = createTestContext();
        const result = await (await executor()).run(testJob(program('logs')), context);
        assert.equal(result.exitCode, 0);
        assert.deepEqual(context.of('stdout'), ['first line', 'ünïcödé ✓ 中文', 'windows line', 'no newline at the end']);
        assert.deepEqual(context.of('stderr'), ['to stderr']);
      },
      timeoutMs,
    );

    it(
      "environment: the program gets the job's env and the standard variables, and nothing of the server's (a secret set for the test)",
      async () => {
        const name = `TENSORIFY_CONFORMANCE_SECRET_${process.pid}`;
        const secret = `secret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
        process.env[name] = secret;
        try {
          const context = createTestContext();
          const result = await (await executor()).run(testJob(program('environment'), { env: { FROM_THE_JOB: 'yes' } }), context);
          assert.equal(result.exitCode, 0, `exit code ${result.exitCode}: ${JSON.stringify(context.lines.slice(-5))}`);
          const env = result.output as Record<string, string>;
          assert.equal(env.FROM_THE_JOB, 'yes');
          assert.equal(typeof env.TENSORIFY_EXECUTION_ID, 'string');
          assert.equal(name in env, false, `the server's variable ${name} reached the program`);
          const leaked = Object.entries(env).filter(([, value]) => value.includes(secret));
          assert.deepEqual(leaked, [], "the server's secret reached the program");
        } finally {
          delete process.env[name];
        }
      },
      timeoutMs,
    );

    const memoryLimitMb = options.memoryLimitMb;
    if (memoryLimitMb !== undefined) {
      it(
        `memory limit: a program filling twice the limit (${memoryLimitMb} MiB) fails, and the log says the limit; the next runs are fine`,
        async () => {
          const executorNow = await executor();
          const context = createTestContext();
          const result = await executorNow.run(testJob(program('memory'), { inputs: { mb: memoryLimitMb * 2 } }), context);
          const lines = JSON.stringify(context.lines.slice(-10));
          assert.notEqual(result.exitCode, 0, `the program filled ${memoryLimitMb * 2} MiB under a limit of ${memoryLimitMb} MiB: ${lines}`);
          assert.equal(result.output, undefined);
          const named = context.of('system').some((line) => /memory/i.test(line) && limitTexts(memoryLimitMb).some((text) => line.includes(text)));
          assert.ok(named, `no system line names the memory limit (${limitTexts(memoryLimitMb).join(' or ')}): ${lines}`);

          const under = createTestContext();
          const quarter = Math.floor(memoryLimitMb / 4 / 8) * 8;
          const fine = await executorNow.run(testJob(program('memory'), { inputs: { mb: quarter } }), under);
          assert.equal(fine.exitCode, 0, `filling ${quarter} MiB under a limit of ${memoryLimitMb} MiB failed: ${JSON.stringify(under.lines.slice(-10))}`);
          assert.deepEqual(fine.output, { filledMb: quarter });

          const next = createTestContext();
          const hello = await executorNow.run(testJob(options.hello ?? program('hello'), { inputs: { name: 'Ada' } }), next);
          assert.equal(hello.exitCode, 0, `the hello run after the memory limit failed: ${JSON.stringify(next.lines.slice(-10))}`);
          assert.deepEqual(hello.output, { result: 'Hello, Ada!' });
        },
        timeoutMs,
      );
    }
  });
}
