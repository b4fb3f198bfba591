import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import {
  AbortedError,
  PROGRAM_FILES,
  type ExecutionContext,
  type ExecutionJob,
  type ExecutionResult,
  type Executor,
  type ExecutorCapabilities,
  type ExecutorHost,
  dropUnusableVariables,
  ExecutorUnavailableError,
  type GpuInfo,
  type WarmProcess,
  INPUTS_FILE,
  normaliseRequirements,
  programInputs,
} from '@tensorify/executor-sdk';
import type { ResolvedConfig } from './config';
import { detectGpus } from './gpus';
import { pipEnvironment, programEnvironment, zygoteEnvironment } from './environment';
import { InterpreterCache, type Interpreter } from './interpreter';
import { runInProcessGroup, type GroupRunResult } from './process-group';
import { requirementsHash, VenvCache, type VenvLease, VenvPruner } from './venvs';
import { programModules, ZygotePool } from './warm';
import { ForkFailedError, type ZygoteInfo } from './zygote';

/** The program's output file, in its work dir. */
const OUTPUT_FILE = '.tensorify-output.json';

/** The `local` executor: `python main.py` as a process group on the server's machine. */
export class LocalExecutor implements Executor {
  private readonly interpreter: InterpreterCache;
  private venvs?: { interpreter: Interpreter; cache: VenvCache };
  /** Detected once, at creation (the hardware does not change while the server runs). */
  private readonly gpus: Promise<GpuInfo[]>;
  /** The warm zygotes; undefined when warm mode is off. */
  private readonly warm?: ZygotePool;
  private readonly venvPruner: VenvPruner;

  constructor(
    private readonly config: ResolvedConfig,
    private readonly host: ExecutorHost,
  ) {
    this.interpreter = new InterpreterCache(config.python);
    this.gpus = config.gpu === false ? Promise.resolve([]) : detectGpus();
    if (config.warm.enabled) {
      this.warm = new ZygotePool({
        maxZygotes: config.warm.maxZygotes,
        idleMs: config.warm.idleSeconds * 1000,
        maxMemoryBytes: config.warm.maxMemoryMb * 2 ** 20,
        homeDir: path.join(host.dataDir, 'zygote'),
        logger: host.logger,
      });
    }
    this.venvPruner = new VenvPruner({
      dir: config.venvDir,
      limits: config.cache,
      logger: host.logger,
      busy: () => this.zygotes().map((zygote) => zygote.venv),
    });
    this.venvPruner.start();
  }

  /** The warm zygotes now (empty when warm mode is off). */
  zygotes(): ZygoteInfo[] {
    return this.warm?.list() ?? [];
  }

  /**
   * Starts the zygote that runs of these program files would use (building their venv first if
   * need be) and resolves once it is ready: for tests and benchmarks, which want their first run
   * warm. Throws when warm mode is off.
   */
  async prewarm(files: Readonly<Record<string, string>>): Promise<void> {
    if (!this.warm) throw new Error('local executor: warm mode is off');
    const python = await this.interpreter.get();
    const requirements = normaliseRequirements(files['requirements.txt'] ?? '');
    let executable = python.executable;
    if (requirements.length > 0) {
      const venv = await this.venvCache(python).get(requirements, new AbortController().signal, () => undefined);
      executable = path.join(venv, 'bin', 'python');
    }
    await this.warm.prepare();
    const venvName = requirements.length > 0 ? requirementsHash(requirements, python) : null;
    await this.warm.prewarm(executable, venvName, this.zygoteEnv(executable), programModules(files, PROGRAM_FILES));
  }

  async close(): Promise<void> {
    await this.venvPruner.close();
    await this.warm?.close();
  }

  private zygoteEnv(executable: string): Record<string, string> {
    return zygoteEnvironment({
      binDir: path.dirname(executable),
      homeDir: path.join(this.host.dataDir, 'zygote'),
      configEnv: this.config.env,
      passEnv: this.config.passEnv,
    });
  }

  async capabilities(): Promise<ExecutorCapabilities> {
    const gpus = await this.gpus;
    const gpu = this.config.gpu === 'auto' ? gpus.length > 0 : this.config.gpu;
    const gpuDetail = gpu ? `; GPU: ${gpus.map((info) => info.model).join(', ') || 'declared in the config'}` : '';
    try {
      const python = await this.interpreter.get();
      const venvs = python.canCreateVenvs ? '' : '; cannot create virtualenvs (no venv module), so programs with requirements fail';
      return {
        gpu,
        gpus,
        healthy: true,
        detail: `${python.executable} (Python ${python.version})${venvs}${gpuDetail}${this.warm ? '' : '; warm mode off'}`,
        ...(this.warm ? { warm: this.warmProcesses() } : {}),
      };
    } catch (error) {
      return { gpu, gpus, healthy: false, detail: (error as Error).message };
    }
  }

  async run(job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult> {
    const { signal } = context;
    const system = (line: string): void => context.log('system', line);
    if (signal.aborted) return { exitCode: null };

    let python: Interpreter;
    try {
      python = await this.interpreter.get();
    } catch (error) {
      throw new ExecutorUnavailableError(`local executor: ${(error as Error).message}`);
    }

    await mkdir(this.config.workDir, { recursive: true, mode: 0o700 });
    const workDir = await mkdtemp(path.join(this.config.workDir, `${safeName(job.executionId)}-`));
    let venvLease: VenvLease | undefined;
    try {
      for (const name of PROGRAM_FILES) {
        await writeFile(path.join(workDir, name), job.files[name] ?? '', { mode: 0o600 });
      }

      let executable = python.executable;
      const requirements = normaliseRequirements(job.files['requirements.txt'] ?? '');
      if (requirements.length > 0) {
        try {
          venvLease = await this.venvCache(python).acquire(requirements, signal, system);
          executable = path.join(venvLease.dir, 'bin', 'python');
        } catch (error) {
          if (error instanceof AbortedError) {
            system('stopped while preparing the virtualenv: the program did not start');
            return { exitCode: null };
          }
          throw error;
        }
      }
      if (signal.aborted) return { exitCode: null };

      const inputs = programInputs(job);
      if (inputs.inFile) {
        await writeFile(path.join(workDir, INPUTS_FILE), inputs.json, { mode: 0o600 });
        system(inputs.notice);
      }
      const outputFile = path.join(workDir, OUTPUT_FILE);
      const env = programEnvironment({
        job,
        inputs,
        workDir,
        binDir: path.dirname(executable),
        outputFile,
        configEnv: this.config.env,
        passEnv: this.config.passEnv,
      });
      const dropped = dropUnusableVariables(env);
      if (dropped) system(dropped);

      const venvName = requirements.length > 0 ? requirementsHash(requirements, python) : null;
      const memory = new MemoryWatch(this.config.memoryLimitMb, context);
      let result = await this.runWarm(executable, venvName, job, { workDir, env, argv: inputs.args, context, memory });
      if (signal.aborted && !result) return { exitCode: null };
      try {
        result ??= await runInProcessGroup({
          command: executable,
          args: inputs.args,
          cwd: workDir,
          env,
          signal,
          killGraceMs: this.config.killGraceSeconds * 1000,
          maxLineBytes: this.config.logLineMaxBytes,
          onLine: memory.onLine,
          onNotice: system,
          onSpawn: (pid) => context.setExternalId(String(pid)),
          memoryLimitBytes: memory.limitBytes,
        });
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'EACCES') {
          this.interpreter.forget();
          throw new ExecutorUnavailableError(`local executor: the Python interpreter ${executable} cannot run: ${code}`);
        }
        throw error;
      }
      memory.explain(result);
      const output = await readOutput(outputFile, system);
      return { exitCode: result.exitCode, output, externalId: String(result.pid) };
    } finally {
      venvLease?.release();
      if (this.config.keepWorkDir) {
        system(`work dir kept: ${workDir}`);
      } else {
        await rm(workDir, { recursive: true, force: true, maxRetries: 3 }).catch((error: unknown) => {
          this.host.logger.warn('local executor: cannot remove a work dir', { workDir, error: (error as Error).message });
        });
      }
    }
  }

  /** The zygotes, as `GET /v1/executors` lists them. */
  private warmProcesses(): WarmProcess[] {
    return (this.warm?.list() ?? []).map((zygote) => ({
      environment: zygote.venv,
      command: zygote.python,
      pid: zygote.pid,
      state: zygote.state,
      startedAt: zygote.startedAt,
      runs: zygote.runs,
      running: zygote.running,
      memoryBytes: zygote.memoryBytes,
      loaded: zygote.modules,
    }));
  }

  /**
   * Runs the program as a fork of its venv's warm zygote; undefined when it must start cold (warm
   * mode off, the zygote missing, starting, dead or refusing the fork; said in the log when it failed).
   */
  private async runWarm(
    executable: string,
    venv: string | null,
    job: ExecutionJob,
    spec: { workDir: string; env: Record<string, string>; argv: string[]; context: ExecutionContext; memory: MemoryWatch },
  ): Promise<GroupRunResult | undefined> {
    if (!this.warm) return undefined;
    const { context } = spec;
    const modules = programModules(job.files, PROGRAM_FILES);
    await this.warm.prepare();
    const zygote = this.warm.pick(executable, venv, spec.env, this.zygoteEnv(executable), modules);
    if (typeof zygote === 'string') return undefined;
    try {
      return await this.warm.run(zygote, {
        cwd: spec.workDir,
        env: spec.env,
        argv: spec.argv,
        modules,
        signal: context.signal,
        killGraceMs: this.config.killGraceSeconds * 1000,
        maxLineBytes: this.config.logLineMaxBytes,
        onLine: spec.memory.onLine,
        onNotice: (line) => context.log('system', line),
        onSpawn: (pid) => context.setExternalId(String(pid)),
        memoryLimitBytes: spec.memory.limitBytes,
      });
    } catch (error) {
      if (!(error instanceof ForkFailedError)) throw error;
      context.log('system', `warm start failed (${error.message}): starting cold`);
      return undefined;
    }
  }

  private venvCache(interpreter: Interpreter): VenvCache {
    if (this.venvs?.interpreter !== interpreter) {
      const { env, passEnv, venvDir, pipArgs, killGraceSeconds, logLineMaxBytes } = this.config;
      const cache = new VenvCache({
        dir: venvDir,
        interpreter,
        pipArgs,
        environment: (binDir) => pipEnvironment(binDir, env, passEnv),
        killGraceMs: killGraceSeconds * 1000,
        maxLineBytes: logLineMaxBytes,
        onBuilt: () => void this.venvPruner.request(),
      });
      this.venvs = { interpreter, cache };
    }
    return this.venvs.cache;
  }
}

/** What a program prints on stderr when an allocation fails: Python's MemoryError (numpy's _ArrayMemoryError too), torch's and C++'s. */
const OUT_OF_MEMORY = /MemoryError\b|can't allocate memory|Cannot allocate memory|std::bad_alloc/;
/** Deaths a failed native allocation can end in (128 + n, as the leader shell reports them): SIGABRT, SIGKILL, SIGSEGV. */
const ALLOCATION_DEATHS = new Map([
  [134, 'SIGABRT'],
  [137, 'SIGKILL'],
  [139, 'SIGSEGV'],
]);

/**
 * The run's memory limit (`memoryLimitMb`) as the run sees it: passes the program's lines on,
 * noting an out-of-memory error among them, and after a failed run says in the log (last, so the
 * execution's error message quotes it) that the limit was the likely cause, naming it.
 */
class MemoryWatch {
  readonly limitBytes?: number;
  private outOfMemory = false;

  constructor(
    private readonly limitMb: number | null,
    private readonly context: ExecutionContext,
  ) {
    if (limitMb !== null) this.limitBytes = limitMb * 2 ** 20;
  }

  readonly onLine = (stream: 'stdout' | 'stderr', line: string): void => {
    if (this.limitMb !== null && stream === 'stderr' && !this.outOfMemory && OUT_OF_MEMORY.test(line)) this.outOfMemory = true;
    this.context.log(stream, line);
  };

  explain(result: GroupRunResult): void {
    if (this.limitMb === null || result.aborted || result.exitCode === 0) return;
    const limit = `${this.limitMb} MiB (the local executor's memoryLimitMb)`;
    if (this.outOfMemory) {
      this.context.log('system', `the program ran out of memory: each run may use at most ${limit}`);
      return;
    }
    const death = result.exitCode === null ? result.exitSignal : ALLOCATION_DEATHS.get(result.exitCode);
    if (death)
      this.context.log('system', `the program was killed by ${death}; each run may use at most ${limit}, and an allocation past it can end a program so`);
  }
}

/** The program's output: the JSON of its TENSORIFY_OUTPUT file; undefined when it wrote none or not JSON (said in the log). */
async function readOutput(file: string, system: (line: string) => void): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') system(`the output file (TENSORIFY_OUTPUT) cannot be read: ${(error as Error).message}`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    system(`the output file (TENSORIFY_OUTPUT) is not valid JSON, so the run has no output: ${(error as Error).message}`);
    return undefined;
  }
}

/** The execution id as a safe file name part. */
function safeName(id: string): string {
  return (id.replace(/[^A-Za-z0-9_-]/g, '_') || 'run').slice(0, 64);
}
