import { readFile } from 'node:fs/promises';
import { ExecutorUnavailableError } from '@tensorify/executor-sdk';
import type { JobInfo, PartitionGres } from './scontrol';
import { parseSinfoGres } from './scontrol';
import type { JobSpec, SlurmClient } from './slurm-client';

export interface RestOptions {
  /** slurmrestd's base URL, e.g. `http://login1:6820`. */
  url: string;
  /** The data parser version of the path, e.g. `v0.0.38` (Slurm 22.05). */
  apiVersion: string;
  /** `X-SLURM-USER-NAME`. */
  user: string;
  /** `X-SLURM-USER-TOKEN`: the token itself, or read from a file at each request (so a rotated token is picked up). */
  token?: string;
  tokenFile?: string;
  timeoutMs?: number;
}

const AUTH_FAILED = /slurmctld config is unable to load|Zero Bytes were transmitted or received|authentication/i;

interface RestError {
  error?: string;
  description?: string;
  error_number?: number;
  errno?: number;
}

/** `--mem` as slurmrestd's `memory_per_node`, in MiB. */
function memoryMb(mem: string): number {
  const match = /^(\d+)([KMGT]?)$/.exec(mem);
  if (!match) throw new Error(`mem ${JSON.stringify(mem)} is not a size`);
  const factor = { K: 1 / 1024, '': 1, M: 1, G: 1024, T: 1024 * 1024 }[match[2]] ?? 1;
  return Math.max(1, Math.ceil(Number(match[1]) * factor));
}

/**
 * Slurm through slurmrestd's REST API with a JWT (`X-SLURM-USER-NAME` / `X-SLURM-USER-TOKEN`).
 * Written against the `v0.0.38` paths of Slurm 22.05. slurmrestd answers a bad or expired token
 * with HTTP 500 ("slurmctld config is unable to load"), not 401: that is reported as the token
 * being refused. Extra sbatch flags have no REST form, so `sbatchArgs` is refused with this client.
 */
export class RestSlurmClient implements SlurmClient {
  readonly description: string;

  constructor(private readonly options: RestOptions) {
    this.description = `slurmrestd at ${options.url} (${options.apiVersion}, user ${options.user})`;
  }

  async submit(spec: JobSpec): Promise<{ jobId: string; request: string }> {
    if (spec.extraArgs.length > 0) throw new Error(`sbatchArgs (${spec.extraArgs.join(' ')}) cannot be passed through slurmrestd`);
    const script = await readFile(spec.script, 'utf8');
    const job: Record<string, unknown> = {
      name: spec.name,
      current_working_directory: spec.runDir,
      standard_output: spec.stdout,
      standard_error: spec.stderr,
      environment: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      time_limit: spec.timeMinutes,
      nodes: 1,
      tasks: 1,
      ...(spec.partition ? { partition: spec.partition } : {}),
      ...(spec.account ? { account: spec.account } : {}),
      ...(spec.qos ? { qos: spec.qos } : {}),
      ...(spec.cpusPerTask ? { cpus_per_task: spec.cpusPerTask } : {}),
      ...(spec.mem ? { memory_per_node: memoryMb(spec.mem) } : {}),
      ...(spec.gres ? { tres_per_node: `gres:${spec.gres}` } : {}),
    };
    const body = await this.request('POST', '/job/submit', { script, job });
    const errors = (body.errors as RestError[] | undefined) ?? [];
    if (errors.length > 0) throw new Error(`slurmrestd refused the job: ${describe(errors)}`);
    const jobId = body.job_id;
    if (typeof jobId !== 'number') throw new Error(`slurmrestd gave no job id: ${JSON.stringify(body).slice(0, 300)}`);
    const { script: _script, ...shown } = { script, ...job };
    void _script;
    return { jobId: String(jobId), request: `POST ${this.options.url}/slurm/${this.options.apiVersion}/job/submit ${JSON.stringify(shown)}` };
  }

  async show(jobId: string): Promise<JobInfo> {
    const body = await this.request('GET', `/job/${encodeURIComponent(jobId)}`);
    const errors = (body.errors as RestError[] | undefined) ?? [];
    if (errors.some((error) => error.error_number === 2017 || /Invalid job id/i.test(error.error ?? ''))) {
      return { state: 'UNKNOWN_ENDED', reason: 'the job is no longer known to slurmctld (MinJobAge passed)', exitCode: null, exitSignal: 0, nodes: '' };
    }
    const job = (body.jobs as Record<string, unknown>[] | undefined)?.[0];
    if (!job) throw new Error(`slurmrestd: no job ${jobId}: ${describe(errors)}`);
    // exit_code is the batch script's raw wait status: the exit code in bits 8-15, the signal in bits 0-6.
    const status = typeof job.exit_code === 'number' ? job.exit_code : 0;
    return {
      state: text(job.job_state, 'UNKNOWN').toUpperCase(),
      reason: text(job.state_reason, 'None'),
      exitCode: (status >> 8) & 0xff,
      exitSignal: status & 0x7f,
      nodes: text(job.nodes, ''),
      workDir: typeof job.current_working_directory === 'string' ? job.current_working_directory : undefined,
    };
  }

  async cancel(jobId: string): Promise<string | undefined> {
    // Like scancel: the job is cancelled (SIGTERM, then SIGKILL after the cluster's KillWait).
    const body = await this.request('DELETE', `/job/${encodeURIComponent(jobId)}`);
    const errors = (body.errors as RestError[] | undefined) ?? [];
    return errors.length > 0 ? describe(errors) : undefined;
  }

  async partitions(): Promise<PartitionGres[]> {
    const [partitions, nodes] = await Promise.all([this.request('GET', '/partitions'), this.request('GET', '/nodes')]);
    const errors = [...((partitions.errors as RestError[] | undefined) ?? []), ...((nodes.errors as RestError[] | undefined) ?? [])];
    if (errors.length > 0) throw new Error(`slurm executor: slurmrestd cannot list the partitions: ${describe(errors)}`);
    // The same lines as sinfo -h -o '%P|%G' gives, so that one parser reads both.
    const lines: string[] = [];
    for (const partition of (partitions.partitions as { name: string; flags?: string[] }[] | undefined) ?? []) {
      const name = `${partition.name}${partition.flags?.includes('default') ? '*' : ''}`;
      const gres = ((nodes.nodes as { gres?: string; partitions?: string[] }[] | undefined) ?? [])
        .filter((node) => node.partitions?.includes(partition.name) && node.gres)
        .map((node) => node.gres);
      lines.push(`${name}|${[...new Set(gres)].join(',')}`);
    }
    return parseSinfoGres(lines.join('\n'));
  }

  private async request(method: string, route: string, body?: unknown): Promise<Record<string, unknown>> {
    const { url, apiVersion, user, token, tokenFile, timeoutMs = 30_000 } = this.options;
    const jwt = tokenFile ? (await readFile(tokenFile, 'utf8')).trim().replace(/^SLURM_JWT=/, '') : (token ?? '');
    let response: Response;
    try {
      response = await fetch(`${url.replace(/\/+$/, '')}/slurm/${apiVersion}${route}`, {
        method,
        headers: { 'X-SLURM-USER-NAME': user, 'X-SLURM-USER-TOKEN': jwt, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new ExecutorUnavailableError(
        `slurm executor: slurmrestd at ${url} cannot be reached: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
      );
    }
    const text = await response.text();
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    // A bad or expired token reaches slurmctld as a failed authentication, which slurmrestd reports
    // as HTTP 500 "slurmctld config is unable to load", or as "Zero Bytes were transmitted or received".
    if (response.status === 401 || response.status === 403 || AUTH_FAILED.test(describe((parsed?.errors as RestError[] | undefined) ?? []))) {
      throw new ExecutorUnavailableError(
        `slurm executor: slurmrestd refused the token of user ${JSON.stringify(user)} (HTTP ${response.status}: ${parsed ? describe((parsed.errors as RestError[]) ?? []) : text.slice(0, 200)}); check restUser and the token`,
      );
    }
    const errors = (parsed?.errors as RestError[] | undefined) ?? [];
    if (response.status >= 500 && errors.length > 0 && errors.every((error) => (error.error_number ?? error.errno) === -1 && !error.description)) {
      throw new ExecutorUnavailableError(
        `slurm executor: slurmrestd answered HTTP ${response.status} "${describe(errors)}", which is what it answers a bad or expired token of user ${JSON.stringify(user)} with; check restUser and the token`,
      );
    }
    if (!parsed) throw new ExecutorUnavailableError(`slurm executor: slurmrestd answered HTTP ${response.status} without JSON: ${text.slice(0, 200)}`);
    return parsed;
  }
}

function describe(errors: RestError[]): string {
  return errors.map((error) => [error.error, error.description].filter(Boolean).join(': ')).join('; ') || 'no error given';
}

/** A field of slurmrestd's JSON that should be a string (or a number). */
function text(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;
}
