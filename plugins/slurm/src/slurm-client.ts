import { ExecutorUnavailableError } from '@tensorify/executor-sdk';
import { jobInfo, type JobInfo, parseSinfoGres, type PartitionGres } from './scontrol';
import type { CommandRunner } from './transport';

/** One batch job as the executor asks for it; each way into Slurm turns it into its own request. */
export interface JobSpec {
  name: string;
  /** The job's working directory, on the shared filesystem. */
  runDir: string;
  /** The batch script's path, in `runDir`. */
  script: string;
  stdout: string;
  stderr: string;
  /** The time limit in whole minutes. */
  timeMinutes: number;
  partition?: string;
  account?: string;
  qos?: string;
  cpusPerTask?: number;
  mem?: string;
  gres?: string;
  /** Extra sbatch flags from the config. */
  extraArgs: readonly string[];
}

/**
 * What the executor needs of Slurm: submit a job, show it, cancel it, list the partitions and their
 * GPUs. {@link CommandSlurmClient} does it with Slurm's commands on a login node (through any
 * {@link CommandRunner}: this machine, or SSH to a login node); a slurmrestd client would do it
 * over HTTP with a JWT.
 */
export interface SlurmClient {
  /** One line for operators: how Slurm is reached. */
  readonly description: string;
  /**
   * Submits the job; its id and the request in words (for the execution's log). Rejects with
   * ExecutorUnavailableError when Slurm cannot be reached, with an Error quoting Slurm when it
   * refused the job (nothing is queued then).
   */
  submit(spec: JobSpec): Promise<{ jobId: string; request: string }>;
  /** The job's state; `UNKNOWN_ENDED` when the controller no longer knows it. */
  show(jobId: string): Promise<JobInfo>;
  /** Asks Slurm to cancel the job; Slurm's message when it refused, else undefined. */
  cancel(jobId: string): Promise<string | undefined>;
  partitions(): Promise<PartitionGres[]>;
}

/** Messages of Slurm's commands that mean the controller cannot be reached (not that the job is wrong). */
const UNREACHABLE =
  /Unable to contact slurm controller|Socket timed out|Connection refused|Zero Bytes were transmitted|Munge encode failed|Communication connection failure/i;

/** Slurm through its commands (`sbatch`, `scontrol`, `scancel`, `sinfo`) on a login node. */
export class CommandSlurmClient implements SlurmClient {
  constructor(private readonly commands: CommandRunner) {}

  get description(): string {
    return this.commands.description;
  }

  async submit(spec: JobSpec): Promise<{ jobId: string; request: string }> {
    const args = [
      '--parsable',
      `--job-name=${spec.name}`,
      `--chdir=${spec.runDir}`,
      `--output=${spec.stdout}`,
      `--error=${spec.stderr}`,
      '--export=NONE',
      '--nodes=1',
      '--ntasks=1',
      `--time=${spec.timeMinutes}`,
      ...(spec.partition ? [`--partition=${spec.partition}`] : []),
      ...(spec.account ? [`--account=${spec.account}`] : []),
      ...(spec.qos ? [`--qos=${spec.qos}`] : []),
      ...(spec.cpusPerTask ? [`--cpus-per-task=${spec.cpusPerTask}`] : []),
      ...(spec.mem ? [`--mem=${spec.mem}`] : []),
      ...(spec.gres ? [`--gres=${spec.gres}`] : []),
      ...spec.extraArgs,
      spec.script,
    ];
    const result = await this.commands.run('sbatch', args);
    const message = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-5).join('\n');
    if (result.code !== 0) {
      if (UNREACHABLE.test(message)) throw new ExecutorUnavailableError(`slurm executor: sbatch cannot reach the cluster: ${message}`);
      throw new Error(`sbatch refused the job: ${message}`);
    }
    const jobId = /^(\d+)(?:;\S+)?\s*$/m.exec(result.stdout)?.[1];
    if (!jobId) throw new Error(`sbatch gave no job id: ${message}`);
    return { jobId, request: `sbatch ${args.slice(1).join(' ')}` };
  }

  async show(jobId: string): Promise<JobInfo> {
    const result = await this.commands.run('scontrol', ['show', 'job', '-o', jobId]);
    if (result.code !== 0) {
      const message = (result.stderr || result.stdout).trim();
      if (/Invalid job id/i.test(message)) {
        return { state: 'UNKNOWN_ENDED', reason: 'the job is no longer known to slurmctld (MinJobAge passed)', exitCode: null, exitSignal: 0, nodes: '' };
      }
      throw new Error(message || `scontrol exited with code ${result.code}`);
    }
    return jobInfo(result.stdout.split('\n')[0] ?? '');
  }

  async cancel(jobId: string): Promise<string | undefined> {
    const result = await this.commands.run('scancel', [jobId]);
    return result.code === 0 ? undefined : (result.stderr || result.stdout).trim() || `scancel exited with code ${result.code}`;
  }

  async partitions(): Promise<PartitionGres[]> {
    const result = await this.commands.run('sinfo', ['-h', '-o', '%P|%G']);
    if (result.code !== 0) {
      const message = (result.stderr || result.stdout).trim();
      const error = `slurm executor: sinfo failed: ${message}`;
      throw UNREACHABLE.test(message) ? new ExecutorUnavailableError(error) : new Error(error);
    }
    return parseSinfoGres(result.stdout);
  }
}
