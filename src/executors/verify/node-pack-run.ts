import { normaliseRequirements, type Executor, type ProgramFiles, silentLogger } from '@tensorify/executor-sdk';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/package-info';
import { errorMessage, formatDuration, loadExecutorPlugins } from '../plugin-loader';
import { type ProgramRun, runThrough } from './program-run';

/** The server's own local executor, loaded through the plugin loader as the server loads it. */
export const LOCAL_EXECUTOR_DIR = path.join(PACKAGE_ROOT, 'plugins', 'local');
/** An example's run, its virtualenv's pip install included (the local executor builds it inside `run()`). */
export const EXAMPLE_RUN_TIMEOUT_MS = 600_000;
/** pip through the machine's index, failing at once rather than retrying an index it cannot reach. */
export const DEFAULT_PIP_ARGS = ['--retries', '0'];

export interface ExampleRunOptions {
  /** Where the examples' virtualenvs are kept (one per distinct requirements.txt); default a temporary directory, removed afterwards. */
  venvDir?: string;
  /** Extra arguments of `pip install`; default {@link DEFAULT_PIP_ARGS}. */
  pipArgs?: string[];
  /** Each example's time limit, its virtualenv's installation included; default {@link EXAMPLE_RUN_TIMEOUT_MS}. */
  runTimeoutMs?: number;
}

/** One example's run: `pass` when it exited with 0; `installProblem` when its requirements could not be installed. */
export interface ExampleRun {
  type: string;
  status: 'pass' | 'fail';
  message: string;
  installProblem?: string;
  details?: { exitCode?: unknown; output?: unknown; lines: string[] };
}

/**
 * Runs each exported example (`programs`, by type) through the local executor, one after another,
 * each in the virtualenv of its own requirements.txt, as the server would run the workflow. A set
 * of requirements pip cannot install is tried once: the other examples needing it are reported
 * with the same problem.
 */
export async function runExamples(programs: { type: string; files: ProgramFiles }[], options: ExampleRunOptions = {}): Promise<ExampleRun[]> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'tensorify-verify-run-'));
  const venvDir = options.venvDir === undefined ? path.join(dataDir, 'venvs') : path.resolve(options.venvDir);
  const config = { venvDir, pipArgs: options.pipArgs ?? DEFAULT_PIP_ARGS, gpu: false, warm: { enabled: false } };
  let executor: Executor | undefined;
  try {
    const [local] = await loadExecutorPlugins({ nodeModulesDirs: [], extra: [LOCAL_EXECUTOR_DIR], configs: { local: config }, dataDir, logger: silentLogger });
    executor = local?.executor;
    if (executor === undefined) {
      const message = `not run: the local executor did not load: ${local?.loadError ?? 'no executor in plugins/local'}`;
      return programs.map(({ type }) => ({ type, status: 'fail', message }));
    }
    const failedInstalls = new Map<string, string>();
    const runs: ExampleRun[] = [];
    for (const { type, files } of programs) {
      const requirements = normaliseRequirements(files['requirements.txt']).join(', ');
      const known = failedInstalls.get(requirements);
      if (known !== undefined) {
        runs.push({ type, status: 'fail', message: installMessage(requirements, known), installProblem: known });
        continue;
      }
      const timeoutMs = options.runTimeoutMs ?? EXAMPLE_RUN_TIMEOUT_MS;
      const run = judge(type, requirements, await runThrough(executor, files, {}, timeoutMs), timeoutMs);
      if (run.installProblem !== undefined) failedInstalls.set(requirements, run.installProblem);
      runs.push(run);
    }
    return runs;
  } finally {
    await Promise.resolve(executor?.close?.()).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function installMessage(requirements: string, problem: string): string {
  return `not run: its requirements (${requirements}) cannot be installed here: ${problem}`;
}

/** The verdict on one run, quoting the program's error (its last stderr line, and where the traceback ends). */
function judge(type: string, requirements: string, run: ProgramRun, timeoutMs: number): ExampleRun {
  const lines = run.context.lines.slice(-20).map(({ stream, line }) => `${stream}: ${line}`);
  if (!run.returned) {
    const message = errorMessage(run.error);
    // The local executor's venv build (venvs.ts) throws "pip install exited …" / "python -m venv …" with
    // pip's last lines, or ExecutorUnavailableError when this Python cannot make virtualenvs at all.
    const install = /^(pip install|python -m venv) /.test(message) || (run.error as Error | null)?.name === 'ExecutorUnavailableError';
    if (install) {
      const problem = pipProblem(message);
      return { type, status: 'fail', message: installMessage(requirements, problem), installProblem: problem, details: { lines } };
    }
    return { type, status: 'fail', message: run.hung ? message : `the local executor could not run it: ${message}`, details: { lines } };
  }
  const { exitCode, output } = (run.result ?? {}) as { exitCode?: unknown; output?: unknown };
  const details = { exitCode, output, lines };
  if (run.timedOut) return { type, status: 'fail', message: `the example did not finish within ${formatDuration(timeoutMs)}`, details };
  if (exitCode === 0) return { type, status: 'pass', message: 'the example ran through the local executor and exited with 0', details };
  const stderr = run.context.of('stderr');
  const last = stderr.at(-1) ?? run.context.of('system').at(-1);
  const frame = stderr
    .map((line) => /^\s*File "(?:.*\/)?([^/"]+)", line (\d+), in (\S+)/.exec(line))
    .filter((match) => match !== null)
    .at(-1);
  const where = frame ? ` (${frame[1]}:${frame[2]}, in ${frame[3]})` : '';
  return { type, status: 'fail', message: `the example exited with ${JSON.stringify(exitCode) ?? 'undefined'}${last ? `: ${last}${where}` : ''}`, details };
}

/** pip's own error of a failed install: its first `ERROR:` line, else the failure's first line. */
function pipProblem(message: string): string {
  const [first, ...tail] = message.split('\n');
  const error = tail.find((line) => line.startsWith('ERROR:'));
  return error === undefined ? first.replace(/:$/, '') : `${first.replace(/:$/, '')}: ${error}`;
}
