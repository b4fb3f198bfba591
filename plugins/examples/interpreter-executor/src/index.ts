/**
 * An example third-party executor plugin: runs a workflow's program with a configured Python
 * interpreter (and interpreter arguments) as a process on the server's machine.
 *
 * It is deliberately small. It writes the program into a fresh directory under its data
 * directory, runs `<interpreter> <args…> main.py` as the leader of a new process group with a
 * clean environment, streams the output line by line, stops the whole group when the signal
 * aborts, and reads the output from `TENSORIFY_OUTPUT`. It installs no packages: a program whose
 * requirements.txt lists any is refused.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { promisify } from 'node:util';
import {
  configSchemaParts,
  defineExecutor,
  dropUnusableVariables,
  type ExecutionContext,
  type ExecutionJob,
  type ExecutionResult,
  ExecutorUnavailableError,
  INPUTS_FILE,
  LineSplitter,
  normaliseRequirements,
  programInputs,
  programVariables,
} from '@tensorify/executor-sdk';

export interface InterpreterConfig {
  /** The interpreter: an absolute path, or a name looked up on {@link SAFE_PATH}. */
  interpreter: string;
  /** Arguments before `main.py`, such as `["-X", "dev"]`. */
  args: string[];
  /** On cancel or timeout, seconds between SIGTERM and SIGKILL to the process group. */
  killGraceSeconds: number;
  /** Longest output line kept, in bytes. */
  logLineMaxBytes: number;
}

/** The programs' whole PATH: nothing of the server's environment reaches them. */
const SAFE_PATH = '/usr/local/bin:/usr/bin:/bin';

export default defineExecutor<InterpreterConfig>({
  id: 'interpreter',
  displayName: 'Interpreter (a configured Python, processes on the server machine)',
  version: '1.0.0', // keep in step with package.json
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      interpreter: { type: 'string', minLength: 1, default: '/usr/bin/python3', description: 'The Python 3.10+ interpreter that runs main.py.' },
      args: { type: 'array', items: { type: 'string' }, default: [], description: 'Interpreter arguments before main.py, e.g. ["-X", "dev"].' },
      killGraceSeconds: configSchemaParts.killGraceSeconds(5, 'On cancel or timeout, seconds between SIGTERM and SIGKILL to the process group.'),
      logLineMaxBytes: configSchemaParts.logLineMaxBytes,
    },
  },
  create: (config, host) => ({
    async capabilities() {
      try {
        const { stdout } = await promisify(execFile)(config.interpreter, ['--version'], { env: { PATH: SAFE_PATH }, timeout: 2_000 });
        return { gpu: false, healthy: true, detail: `${[config.interpreter, ...config.args].join(' ')}: ${stdout.trim().split('\n')[0]}` };
      } catch (error) {
        return { gpu: false, healthy: false, detail: `${config.interpreter} cannot run: ${(error as Error).message.split('\n')[0]}` };
      }
    },
    run: (job, context) => runJob(config, host.dataDir, job, context),
  }),
});

async function runJob(config: InterpreterConfig, dataDir: string, job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult> {
  if (context.signal.aborted) return { exitCode: null };
  const wanted = normaliseRequirements(job.files['requirements.txt']);
  if (wanted.length > 0) {
    throw new Error(
      `the interpreter executor installs no packages, but requirements.txt asks for: ${wanted.join(', ')}; run this workflow on the "local" executor`,
    );
  }
  const dir = await mkdtemp(path.join(dataDir, 'run-')); // mode 0700
  try {
    for (const [name, text] of Object.entries(job.files)) await writeFile(path.join(dir, name), text, { mode: 0o600 });
    const inputs = programInputs(job);
    if (inputs.inFile) {
      await writeFile(path.join(dir, INPUTS_FILE), inputs.json, { mode: 0o600 });
      context.log('system', inputs.notice);
    }
    const outputFile = path.join(dir, 'output.json');
    const env: Record<string, string> = { PATH: SAFE_PATH, HOME: dir, ...programVariables(job, inputs), ...job.env, TENSORIFY_OUTPUT: outputFile };
    const dropped = dropUnusableVariables(env);
    if (dropped) context.log('system', dropped);

    const { pid, exitCode } = await runInGroup(config, dir, [...config.args, ...inputs.args], env, context);
    let output: unknown;
    try {
      output = JSON.parse(await readFile(outputFile, 'utf8')) as unknown;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') context.log('system', `the output file is not valid JSON: ${(error as Error).message}`);
    }
    return { exitCode, output, externalId: String(pid) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the interpreter as the leader of a new process group; resolves once it exited and its pipes closed. */
function runInGroup(config: InterpreterConfig, cwd: string, args: string[], env: Record<string, string>, context: ExecutionContext) {
  return new Promise<{ pid: number; exitCode: number | null }>((resolve, reject) => {
    const child = spawn(config.interpreter, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.once('error', (error) => reject(new ExecutorUnavailableError(`cannot start ${config.interpreter}: ${error.message}`)));
    child.once('spawn', () => {
      const pid = child.pid!;
      context.setExternalId(String(pid));
      for (const stream of ['stdout', 'stderr'] as const) {
        const lines = new LineSplitter(config.logLineMaxBytes, (line) => context.log(stream, line));
        child[stream].on('data', (chunk: Buffer) => lines.push(chunk));
        child[stream].once('end', () => lines.end());
      }
      let killTimer: NodeJS.Timeout | undefined;
      const stop = () => {
        context.log('system', `stopping process group ${pid} (${String(context.signal.reason)})`);
        killGroup(pid, 'SIGTERM');
        killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), config.killGraceSeconds * 1000);
      };
      if (context.signal.aborted) stop();
      else context.signal.addEventListener('abort', stop, { once: true });
      child.once('exit', () => killGroup(pid, 'SIGKILL')); // whatever the program left running in its group
      child.once('close', (exitCode) => {
        clearTimeout(killTimer);
        context.signal.removeEventListener('abort', stop);
        resolve({ pid, exitCode });
      });
    });
  });
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is gone already.
  }
}
