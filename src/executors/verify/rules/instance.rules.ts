import { type Executor, type ExecutorCapabilities, type ExecutorDefinition, type PluginLogger } from '@tensorify/executor-sdk';
import { mkdir } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { TimeoutError, withTimeout } from '../../../common/timeout';
import { CREATE_TIMEOUT_MS, createExecutor, errorMessage, formatDuration } from '../../plugin-loader';
import type { Add } from '../checks';
import { runThrough } from '../program-run';
import { HELLO_INPUTS, HELLO_OUTPUT, helloProgram } from '../hello-program';
import { CAPABILITIES_TIMEOUT_MS, CLOSE_TIMEOUT_MS, RUN_TIMEOUT_MS, type VerifyOptions } from '../verify-options';

/**
 * An executor's instance rules (create, capabilities, run, close): calls `create()` as the server
 * does, then asks the executor what the server asks it, runs the hello program when `options.run`,
 * and closes it.
 */
export async function checkInstance(
  definition: ExecutorDefinition,
  config: unknown,
  dataDir: string,
  logger: PluginLogger,
  options: VerifyOptions,
  add: Add,
): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  const created = await createExecutor(definition, config, { dataDir, logger }, options.createTimeoutMs ?? CREATE_TIMEOUT_MS);
  if ('problem' in created) {
    add('create', 'fail', created.problem);
    for (const rule of ['capabilities', 'run', 'close'] as const) add(rule, 'skip', 'not checked: create() made no executor');
    return;
  }
  const { executor } = created;
  add('create', 'pass', `made an executor with capabilities() and run()${typeof executor.close === 'function' ? ' and close()' : ''}`);
  await checkCapabilities(executor, options.capabilitiesTimeoutMs ?? CAPABILITIES_TIMEOUT_MS, add);
  if (options.run) await checkRun(executor, options.runTimeoutMs ?? RUN_TIMEOUT_MS, add);
  else add('run', 'skip', 'not checked: add --run to run the hello program through the executor');
  await checkClose(executor, options.closeTimeoutMs ?? CLOSE_TIMEOUT_MS, add);
}

async function checkCapabilities(executor: Executor, timeoutMs: number, add: Add): Promise<void> {
  let answer: unknown;
  try {
    answer = await withTimeout(
      Promise.resolve().then(() => executor.capabilities()),
      timeoutMs,
      `capabilities did not answer within ${formatDuration(timeoutMs)}`,
    );
  } catch (error) {
    add('capabilities', 'fail', error instanceof TimeoutError ? error.message : `capabilities failed: ${errorMessage(error)}`);
    return;
  }
  const problem = capabilitiesProblem(answer);
  if (problem !== undefined) {
    add('capabilities', 'fail', `capabilities answered ${problem}`, answer);
    return;
  }
  const capabilities = answer as ExecutorCapabilities;
  const gpus = capabilities.gpus?.length ? ` (${capabilities.gpus.map((gpu) => gpu.model).join(', ')})` : '';
  const detail = capabilities.detail ? `: ${capabilities.detail}` : '';
  if (capabilities.healthy === false) add('capabilities', 'warn', `answered unhealthy${detail}`, capabilities);
  else add('capabilities', 'pass', `healthy, gpu ${capabilities.gpu}${gpus}${detail}`, capabilities);
}

/** What is wrong with an answer of `capabilities()` ({@link ExecutorCapabilities}). */
function capabilitiesProblem(answer: unknown): string | undefined {
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) return `${JSON.stringify(answer) ?? 'undefined'} instead of an object`;
  const { gpu, gpus, healthy, detail } = answer as Record<string, unknown>;
  if (typeof gpu !== 'boolean') return 'without a boolean "gpu"';
  if (healthy !== undefined && typeof healthy !== 'boolean') return `"healthy" ${JSON.stringify(healthy)}, not a boolean`;
  if (detail !== undefined && typeof detail !== 'string') return `"detail" ${JSON.stringify(detail)}, not a string`;
  if (gpus !== undefined) {
    if (!Array.isArray(gpus)) return `"gpus" ${JSON.stringify(gpus)}, not an array`;
    const bad = gpus.findIndex((info: unknown) => {
      const { model, vendor, vramMb } = (info ?? {}) as Record<string, unknown>;
      return (
        typeof info !== 'object' ||
        info === null ||
        typeof model !== 'string' ||
        (vendor !== undefined && typeof vendor !== 'string') ||
        (vramMb !== undefined && typeof vramMb !== 'number')
      );
    });
    if (bad >= 0) return `"gpus[${bad}]" ${JSON.stringify(gpus[bad])}, not { model: string, vendor?: string, vramMb?: number }`;
  }
  return undefined;
}

/** Runs the hello program with a fake context, the signal aborted (`timed_out`) at the time limit as the server does. */
async function checkRun(executor: Executor, timeoutMs: number, add: Add): Promise<void> {
  const program = helloProgram();
  const run = await runThrough(executor, program.files, HELLO_INPUTS, timeoutMs);
  const { context } = run;
  if (!run.returned) {
    const { error } = run;
    add('run', 'fail', run.hung ? errorMessage(error) : `run() failed: ${(error as Error | null)?.name ?? 'Error'}: ${errorMessage(error)}`, {
      lines: context.lines.slice(-20),
    });
    return;
  }
  const { result } = run;
  const { exitCode, output } = (result ?? {}) as { exitCode?: unknown; output?: unknown };
  const details = { program: program.name, inputs: HELLO_INPUTS, exitCode, output, externalIds: context.externalIds, lines: context.lines.slice(-20) };
  if (typeof result !== 'object' || result === null) {
    add('run', 'fail', `run() returned ${JSON.stringify(result) ?? 'undefined'} instead of { exitCode, output? }`, details);
  } else if (run.timedOut) {
    add('run', 'fail', `${program.name} did not finish within ${formatDuration(timeoutMs)} (exit code ${String(exitCode)})`, details);
  } else if (exitCode !== 0) {
    const stderr = context.of('stderr').at(-1) ?? context.of('system').at(-1);
    add('run', 'fail', `${program.name} exited with ${JSON.stringify(exitCode) ?? 'undefined'}${stderr ? `; last line: ${stderr}` : ''}`, details);
  } else if (!isDeepStrictEqual(output, HELLO_OUTPUT)) {
    add('run', 'fail', `${program.name} exited with 0 but output ${JSON.stringify(output) ?? 'nothing'}, not ${JSON.stringify(HELLO_OUTPUT)}`, details);
  } else {
    add('run', 'pass', `${program.name} exited with 0 and output ${JSON.stringify(output)}`, details);
  }
}

/** The server calls `close()` once at shutdown and only logs its failure: a warning. */
async function checkClose(executor: Executor, timeoutMs: number, add: Add): Promise<void> {
  if (executor.close === undefined) {
    add('close', 'pass', 'no close() (it is optional)');
    return;
  }
  try {
    await withTimeout(
      Promise.resolve().then(() => executor.close!()),
      timeoutMs,
      `close() did not finish within ${formatDuration(timeoutMs)}`,
    );
    add('close', 'pass', 'closed');
  } catch (error) {
    add('close', 'warn', error instanceof TimeoutError ? error.message : `close() failed: ${errorMessage(error)}`);
  }
}
