import type { ExecutionJob } from './index';

/**
 * The largest inputs passed in `TENSORIFY_INPUTS`, in bytes of their JSON. Linux caps one
 * environment variable at 128 KiB; larger inputs go in {@link INPUTS_FILE}.
 */
export const MAX_INPUTS_ENV_BYTES = 120 * 1024;

/** The file, in the program's work dir, that holds inputs too large for `TENSORIFY_INPUTS`; the program gets `--inputs` and its name. */
export const INPUTS_FILE = '.tensorify-inputs.json';

/**
 * How a run's inputs reach its program (see {@link programInputs}): `json` is the inputs as JSON
 * (`{}` when the job has none), `args` the program's arguments after the interpreter. When
 * `inFile`, they are too large for `TENSORIFY_INPUTS`: write `json` to {@link INPUTS_FILE} in the
 * program's work dir (`args` passes it with `--inputs`), and log `notice` (a `'system'` line).
 */
export type ProgramInputs = { inFile: false; json: string; args: string[] } | { inFile: true; json: string; args: string[]; notice: string };

/**
 * Decides how a run's inputs reach its program: in `TENSORIFY_INPUTS` (see
 * {@link programVariables}), or, past {@link MAX_INPUTS_ENV_BYTES}, in {@link INPUTS_FILE}, which
 * the caller writes into the work dir before the program starts.
 */
export function programInputs(job: Pick<ExecutionJob, 'inputs'>): ProgramInputs {
  const json = JSON.stringify(job.inputs ?? {});
  const bytes = Buffer.byteLength(json);
  if (bytes <= MAX_INPUTS_ENV_BYTES) return { json, inFile: false, args: ['main.py'] };
  return {
    json,
    inFile: true,
    args: ['main.py', '--inputs', INPUTS_FILE],
    notice: `the inputs are too large for TENSORIFY_INPUTS (${bytes} bytes): passed as --inputs ${INPUTS_FILE}`,
  };
}

/**
 * The standard variables of a run's program, in this order: `LANG=C.UTF-8`, `PYTHONUNBUFFERED=1`,
 * `PYTHONDONTWRITEBYTECODE=1`, `TENSORIFY_EXECUTION_ID`, `TENSORIFY_WORKFLOW_ID`,
 * `TENSORIFY_DEVICE` (`cuda` for a `gpu` run, else `cpu`) and, unless `inputs.inFile`,
 * `TENSORIFY_INPUTS`.
 *
 * They are not the whole environment. Put your base (`PATH`, `HOME`) before them, then what your
 * configuration allows, then `job.env`, and set `TENSORIFY_OUTPUT` last, so that nothing moves
 * the file you read the output from:
 *
 * ```ts
 * const inputs = programInputs(job);
 * const env = { PATH: SAFE_PATH, HOME: dir, ...programVariables(job, inputs), ...config.env, ...job.env, TENSORIFY_OUTPUT: outputFile };
 * ```
 */
export function programVariables(job: Pick<ExecutionJob, 'executionId' | 'workflowId' | 'gpu'>, inputs: ProgramInputs): Record<string, string> {
  const env: Record<string, string> = {
    LANG: 'C.UTF-8',
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    TENSORIFY_EXECUTION_ID: job.executionId,
    TENSORIFY_WORKFLOW_ID: job.workflowId,
    TENSORIFY_DEVICE: job.gpu ? 'cuda' : 'cpu',
  };
  if (!inputs.inFile) env.TENSORIFY_INPUTS = inputs.json;
  return env;
}

/**
 * Deletes from each `env` the variables no process can be given (Node's `spawn`, the Docker
 * engine and Python's `subprocess` refuse them): an empty name, a name with `=` or NUL, a value
 * with NUL or not a string. Returns a line for the execution's log (`'system'`) naming them all,
 * or undefined when none was dropped.
 */
export function dropUnusableVariables(...envs: Record<string, string>[]): string | undefined {
  const dropped: string[] = [];
  for (const env of envs) {
    for (const [name, value] of Object.entries(env)) {
      if (name === '' || name.includes('=') || name.includes('\0') || typeof value !== 'string' || value.includes('\0')) {
        delete env[name];
        dropped.push(name);
      }
    }
  }
  if (dropped.length === 0) return undefined;
  return `variables left out of the environment (a name with "=" or NUL, or a value with NUL): ${dropped.map((name) => JSON.stringify(name)).join(', ')}`;
}
