import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import {
  type ExecutionContext,
  type ExecutionJob,
  type ExecutionResult,
  type Executor,
  type ResumeContext,
  type ExecutorCapabilities,
  ExecutorUnavailableError,
  type ExecutorHost,
  type GpuInfo,
  dropUnusableVariables,
  INPUTS_FILE,
  LineSplitter,
  type LogStream,
  normaliseRequirements,
  programInputs,
  programVariables,
} from '@tensorify/executor-sdk';
import type { ResolvedConfig } from './config';
import { jobScript, requirementsHash, RUN_FILES } from './job-script';
import { ENDED_STATES, type JobInfo, outcomeOf, type PartitionGres } from './scontrol';
import type { SlurmClient } from './slurm-client';
import type { SharedFiles } from './transport';

/** How long sinfo's answer (partitions, GPUs, health) is reused. */
const CAPABILITIES_TTL_MS = 30_000;
/** Most bytes of one output file read per poll. */
const READ_CHUNK = 1024 * 1024;

const NOT_CONFIGURED = "slurm executor: not configured (set executors.slurm.workDir to a directory on the cluster's shared filesystem)";

/** The `slurm` executor: each execution is one Slurm batch job, followed with scontrol until it ended. */
export class SlurmExecutor implements Executor {
  /** A job may wait in Slurm's queue: `context.started()` is called once Slurm runs it. */
  readonly reportsStart = true;
  private cluster?: { at: number; value: Promise<PartitionGres[]> };

  constructor(
    private readonly config: ResolvedConfig,
    private readonly slurm: SlurmClient,
    private readonly files: SharedFiles,
    private readonly host: ExecutorHost,
    private readonly onClose?: () => Promise<void>,
  ) {}

  async capabilities(): Promise<ExecutorCapabilities> {
    if (this.config.workDir === undefined) return { gpu: false, healthy: false, detail: NOT_CONFIGURED };
    let partitions: PartitionGres[];
    try {
      partitions = await this.partitions();
    } catch (error) {
      return { gpu: this.config.gpu === true, healthy: false, detail: (error as Error).message };
    }
    const gpus: GpuInfo[] = partitions.flatMap((entry) =>
      entry.gpus.flatMap((gpu) => Array.from({ length: gpu.count }, () => ({ model: `${gpu.model} (partition ${entry.partition})`, vendor: 'slurm gres' }))),
    );
    const gpu = this.config.gpu === 'auto' ? this.gpuPartition(partitions) !== undefined : this.config.gpu;
    const names = partitions.map(
      (entry) =>
        `${entry.partition}${entry.isDefault ? '*' : ''}${entry.gpus.length ? ` (${entry.gpus.map((g) => `gpu:${g.model}:${g.count}`).join(',')})` : ''}`,
    );
    return { gpu, gpus, healthy: true, detail: `${this.slurm.description}; partitions: ${names.join(', ') || 'none'}${gpu ? '' : '; no GPU'}` };
  }

  async run(job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult> {
    const { signal } = context;
    const system = (line: string): void => context.log('system', line);
    if (signal.aborted) return { exitCode: null };
    const workDir = this.config.workDir;
    if (workDir === undefined) throw new ExecutorUnavailableError(NOT_CONFIGURED);

    // A GPU run goes to a partition with GPUs; without one nothing is submitted.
    let partition = this.config.partition;
    if (job.gpu) {
      const partitions = await this.partitions().catch((error: unknown) => {
        throw new ExecutorUnavailableError((error as Error).message);
      });
      const gpuPartition = this.config.gpuPartition ?? this.gpuPartition(partitions);
      if (gpuPartition === undefined && this.config.gpu !== true) {
        throw new Error('GPU_UNAVAILABLE: no partition of this Slurm cluster has GPUs (sinfo shows no gpu Gres); nothing was submitted');
      }
      partition = gpuPartition ?? partition;
    }

    const runDir = path.join(workDir, `${safeName(job.executionId)}-${randomBytes(4).toString('hex')}`);
    let result: ExecutionResult | undefined;
    const file = (name: string): string => path.join(runDir, name);
    await this.files.mkdir(runDir);
    try {
      for (const name of ['main.py', 'utils.py', 'requirements.txt'] as const) {
        await this.files.writeFile(file(name), job.files[name] ?? '', 0o644);
      }
      const requirements = normaliseRequirements(job.files['requirements.txt'] ?? '');
      if (requirements.length > 0) await this.files.writeFile(file(RUN_FILES.requirements), requirements.join('\n') + '\n', 0o644);
      const inputs = programInputs(job);
      if (inputs.inFile) {
        await this.files.writeFile(file(INPUTS_FILE), inputs.json, 0o600);
        system(inputs.notice);
      }
      const env: Record<string, string> = {
        HOME: runDir,
        ...programVariables(job, inputs),
        ...this.config.env,
        ...job.env,
        TENSORIFY_OUTPUT: file(RUN_FILES.output),
      };
      const dropped = dropUnusableVariables(env);
      if (dropped) system(dropped);
      const venv =
        requirements.length > 0
          ? { dir: this.config.venvDir, hash: requirementsHash(requirements, this.config.python), pipArgs: this.config.pipArgs }
          : undefined;
      await this.files.writeFile(file(RUN_FILES.script), jobScript({ runDir, python: this.config.python, venv, env, args: inputs.args }), 0o700);
      if (signal.aborted) return { exitCode: null };

      const jobId = await this.submit(job, runDir, partition, system);
      context.setExternalId(jobId);
      system(`submitted as Slurm job ${jobId}${partition ? ` (partition ${partition})` : ''}`);
      result = await this.follow(jobId, runDir, context);
      return result;
    } finally {
      // A detached job goes on and keeps its run directory; the run that resumes it removes it.
      if (!result?.detached) await this.removeRunDir(runDir, system);
    }
  }

  /**
   * Follows a job again after the server restarted (or a worker died): by its id, from Slurm's
   * `WorkDir` (the run directory on the shared filesystem). The job's output files are read from
   * their start and the lines the execution's log already has are skipped (`context.logged`); the
   * setup log is read again only if the job had not started before (else what it wrote since is
   * not streamed again). A job that ended meanwhile gets its outcome as usual.
   */
  async resume(_job: ExecutionJob, context: ResumeContext): Promise<ExecutionResult> {
    const system = (line: string): void => context.log('system', line);
    const jobId = context.externalId;
    if (!/^\d+(?:_\d+)?$/.test(jobId)) throw new Error(`slurm executor: "${jobId}" is not a Slurm job id; the run cannot be followed again`);
    let info: JobInfo | undefined;
    for (let tries = 0; info === undefined; tries++) {
      try {
        info = await this.slurm.show(jobId);
      } catch (error) {
        // The cluster is down for a moment: wait for it like `follow` does (the signal ends the wait).
        if (tries === 0 || tries % 30 === 0) system(`scontrol show job ${jobId}: ${(error as Error).message}`);
        if (context.signal.aborted) return { exitCode: null, detached: context.signal.reason === 'shutdown' };
        await sleep(this.config.pollSeconds * 1000, context.signal, false);
      }
    }
    if (info.state === 'UNKNOWN_ENDED' || !info.workDir) {
      throw new Error(
        `Slurm job ${jobId} can no longer be followed: ${info.state === 'UNKNOWN_ENDED' ? info.reason : 'scontrol gives no WorkDir for it'}; its outcome is unknown`,
      );
    }
    const runDir = info.workDir;
    let result: ExecutionResult | undefined;
    try {
      result = await this.follow(jobId, runDir, context, { stdout: context.logged.stdout, stderr: context.logged.stderr, setup: context.wasStarted });
      return result;
    } finally {
      if (!result?.detached) await this.removeRunDir(runDir, system);
    }
  }

  private async removeRunDir(runDir: string, system: (line: string) => void): Promise<void> {
    if (this.config.keepWorkDir) {
      system(`run directory kept: ${runDir}`);
      return;
    }
    await this.files.remove(runDir).catch((error: unknown) => {
      this.host.logger.warn('slurm executor: cannot remove a run directory', { runDir, error: (error as Error).message });
    });
  }

  /** Submits the job; its id, or an Error quoting Slurm when it refused the job (nothing is left queued then). */
  private async submit(job: ExecutionJob, runDir: string, partition: string | undefined, system: (line: string) => void): Promise<string> {
    const c = this.config;
    const { jobId, request } = await this.slurm.submit({
      name: `tensorify-${safeName(job.executionId)}`,
      runDir,
      script: path.join(runDir, RUN_FILES.script),
      stdout: path.join(runDir, RUN_FILES.stdout),
      stderr: path.join(runDir, RUN_FILES.stderr),
      timeMinutes: Math.max(1, Math.ceil(job.timeoutMs / 60_000)), // Slurm limits are whole minutes
      partition,
      account: c.account,
      qos: c.qos,
      cpusPerTask: c.cpusPerTask,
      mem: c.mem,
      gres: job.gpu ? c.gres : undefined,
      extraArgs: c.sbatchArgs,
    });
    system(request);
    return jobId;
  }

  /**
   * Follows the job until Slurm reports it ended, streaming its files; cancels it (confirmed) when
   * the signal aborts, except at a shutdown: then it detaches (the job goes on; `resume` follows it
   * again). Reports the start once Slurm runs it.
   */
  private async follow(jobId: string, runDir: string, context: ExecutionContext, skip?: Skip): Promise<ExecutionResult> {
    const { signal } = context;
    const system = (line: string): void => context.log('system', line);
    const streams = this.streams(runDir, context, skip);
    let last: JobInfo | undefined;
    let cancelSent = false;
    let started = false;
    let failures = 0;
    for (;;) {
      if (signal.aborted && !cancelSent && signal.reason === 'shutdown') {
        // The job does not need this server: it goes on, and the next server follows it again.
        await streams.poll();
        system(`the server is stopping: Slurm job ${jobId} goes on, and is followed again when the server is back`);
        return { exitCode: null, detached: true, externalId: jobId };
      }
      if (signal.aborted && !cancelSent) {
        cancelSent = true;
        system(`scancel ${jobId} (${String(signal.reason)})`);
        const refused = await this.slurm.cancel(jobId);
        if (refused) system(`scancel: ${refused}`);
      }
      let info: JobInfo;
      try {
        info = await this.slurm.show(jobId);
        failures = 0;
      } catch (error) {
        // A controller restarting or a lost connection for a moment: keep following; the server's timeout bounds it.
        if (++failures === 1 || failures % 30 === 0) system(`scontrol show job ${jobId}: ${(error as Error).message}`);
        await sleep(this.config.pollSeconds * 1000, signal, cancelSent);
        continue;
      }
      await streams.poll();
      if (info.state !== last?.state || (info.state === 'PENDING' && info.reason !== last.reason)) {
        if (info.state === 'PENDING') system(`queued in Slurm: JobState=PENDING${info.reason === 'None' ? '' : ` Reason=${info.reason}`}`);
        else if (info.state === 'RUNNING') system(`running on ${info.nodes}`);
        else if (!ENDED_STATES.has(info.state)) system(`Slurm: JobState=${info.state}`);
      }
      last = info;
      // Slurm gave it its resources (RUNNING, or it ran and ended between two polls): the program started.
      // A job CANCELLED before it was seen running is taken as cancelled while pending.
      if (!started && (RAN_STATES.has(info.state) || (ENDED_STATES.has(info.state) && info.state !== 'CANCELLED'))) {
        started = true;
        context.started?.();
      }
      if (ENDED_STATES.has(info.state)) {
        await streams.poll();
        streams.end();
        const setupFailed = await this.files.readText(path.join(runDir, RUN_FILES.setupFailed));
        if (setupFailed !== undefined && !cancelSent)
          throw new Error(`installing the requirements failed on ${info.nodes}: the program did not start (see the log)`);
        const outcome = outcomeOf(info);
        // Slurm itself ended the job (its time limit, a node failure, a preemption, an scancel by someone else):
        // the execution fails with Slurm's state and reason as its message, not as "exited with a signal".
        if (outcome.exitCode === null && !cancelSent) throw new Error(`${outcome.notice ?? `Slurm: the job ended ${info.state}`} (job ${jobId})`);
        if (outcome.notice && !(cancelSent && info.state === 'CANCELLED')) system(outcome.notice);
        if (cancelSent) system(`Slurm job ${jobId} ended (${info.state}); its processes are gone`);
        const output = await readOutput(this.files, path.join(runDir, RUN_FILES.output), system);
        return { exitCode: cancelSent && outcome.exitCode === 0 ? null : outcome.exitCode, output, externalId: jobId };
      }
      await sleep(this.config.pollSeconds * 1000, signal, cancelSent);
    }
  }

  /**
   * The job's three files, read from where the last poll stopped, as stdout, stderr and system
   * lines; a resumed run skips the lines its log has already (`skip`).
   */
  private streams(runDir: string, context: ExecutionContext, skip?: Skip): { poll(): Promise<void>; end(): void } {
    const files: { name: string; stream: LogStream; offset: number; splitter: LineSplitter }[] = (
      [
        [RUN_FILES.setup, 'system', skip?.setup ? Infinity : 0],
        [RUN_FILES.stdout, 'stdout', skip?.stdout ?? 0],
        [RUN_FILES.stderr, 'stderr', skip?.stderr ?? 0],
      ] as const
    ).map(([name, stream, skipped]) => {
      let left = skipped;
      const splitter = new LineSplitter(this.config.logLineMaxBytes, (line) => {
        if (left > 0) left--;
        else context.log(stream, line);
      });
      return { name, stream, offset: 0, splitter };
    });
    return {
      poll: async () => {
        for (const entry of files) {
          for (;;) {
            const chunk = await this.files.readFrom(path.join(runDir, entry.name), entry.offset, READ_CHUNK);
            if (chunk.length === 0) break;
            entry.offset += chunk.length;
            entry.splitter.push(chunk);
            if (chunk.length < READ_CHUNK) break;
          }
        }
      },
      end: () => files.forEach((entry) => entry.splitter.end()),
    };
  }

  /** sinfo's partitions and their GPUs, cached for a while. */
  private partitions(): Promise<PartitionGres[]> {
    if (this.cluster && Date.now() - this.cluster.at < CAPABILITIES_TTL_MS) return this.cluster.value;
    const value = this.slurm.partitions();
    this.cluster = { at: Date.now(), value };
    value.catch(() => (this.cluster = undefined));
    return value;
  }

  private gpuPartition(partitions: PartitionGres[]): string | undefined {
    const withGpus = partitions.filter((entry) => entry.gpus.length > 0);
    if (this.config.partition && withGpus.some((entry) => entry.partition === this.config.partition)) return this.config.partition;
    return withGpus[0]?.partition;
  }

  async close(): Promise<void> {
    await this.onClose?.();
  }
}

/** States of a job that has its resources: its program runs (or is being stopped). */
const RAN_STATES = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED']);

/** What a resumed run skips: the output lines its log has, and the whole setup log when the job had started before. */
interface Skip {
  stdout: number;
  stderr: number;
  setup: boolean;
}

/** The program's output: the JSON of its TENSORIFY_OUTPUT file; undefined when it wrote none or not JSON (said in the log). */
async function readOutput(files: SharedFiles, file: string, system: (line: string) => void): Promise<unknown> {
  const text = await files.readText(file).catch((error: unknown) => {
    system(`the output file (TENSORIFY_OUTPUT) cannot be read: ${(error as Error).message}`);
    return undefined;
  });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    system(`the output file (TENSORIFY_OUTPUT) is not valid JSON, so the run has no output: ${(error as Error).message}`);
    return undefined;
  }
}

/** Waits `ms`, or less when `signal` aborts (unless the cancel was already sent: then just poll). */
function sleep(ms: number, signal: AbortSignal, ignoreAbort: boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    if (!ignoreAbort) signal.addEventListener('abort', done, { once: true });
  });
}

/** The execution id as a safe file and job name part. */
function safeName(id: string): string {
  return (id.replace(/[^A-Za-z0-9_-]/g, '_') || 'run').slice(0, 64);
}
