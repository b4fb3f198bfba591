/** What `scontrol show job -o <id>` says about a job, as far as the executor needs it. */
export interface JobInfo {
  /** `PENDING`, `RUNNING`, `COMPLETING`, `COMPLETED`, `FAILED`, `TIMEOUT`, `CANCELLED`, `NODE_FAIL`, `PREEMPTED`… */
  state: string;
  /** Why it is pending or how it ended (`Priority`, `Resources`, `PartitionDown`, `NonZeroExitCode`, `None`). */
  reason: string;
  /** From `ExitCode=3:0`: the exit code and the signal that ended the batch script. */
  exitCode: number | null;
  exitSignal: number;
  nodes: string;
  /** The job's working directory (`WorkDir=`): the run directory, which a resumed run finds again by it. */
  workDir?: string;
}

/**
 * Parses one line of `scontrol show job -o`: `Key=Value` pairs separated by spaces. Values with
 * spaces only occur in a few fields (`Command=`, `WorkDir=`, `Comment=`, …) which the executor does
 * not read, so a pair is a run of non-spaces holding `=`, and a word without `=` belongs to the
 * value before it.
 */
export function parseScontrolLine(line: string): Map<string, string> {
  const fields = new Map<string, string>();
  let last: string | undefined;
  for (const word of line.trim().split(/\s+/)) {
    const eq = word.indexOf('=');
    if (eq > 0) {
      last = word.slice(0, eq);
      if (!fields.has(last)) fields.set(last, word.slice(eq + 1));
    } else if (last !== undefined && word.length > 0) {
      fields.set(last, `${fields.get(last)} ${word}`);
    }
  }
  return fields;
}

/** The job facts of one `scontrol show job -o` line. */
export function jobInfo(line: string): JobInfo {
  const fields = parseScontrolLine(line);
  const [code, signal] = (fields.get('ExitCode') ?? '0:0').split(':').map((part) => Number(part));
  return {
    state: (fields.get('JobState') ?? 'UNKNOWN').toUpperCase(),
    reason: fields.get('Reason') ?? 'None',
    exitCode: Number.isInteger(code) ? code : null,
    exitSignal: Number.isInteger(signal) ? signal : 0,
    nodes: fields.get('NodeList') ?? '',
    workDir: fields.get('WorkDir'),
  };
}

/** States after which the job is over and its processes are gone (COMPLETING is not one: they are being killed). */
export const ENDED_STATES = new Set([
  'COMPLETED',
  'FAILED',
  'TIMEOUT',
  'CANCELLED',
  'NODE_FAIL',
  'PREEMPTED',
  'OUT_OF_MEMORY',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
  'REVOKED',
]);

/** What an ended job's state means for the execution: its exit code (null when Slurm stopped it) and a line for the log. */
export function outcomeOf(info: JobInfo): { exitCode: number | null; notice?: string } {
  switch (info.state) {
    case 'COMPLETED':
      return { exitCode: info.exitCode ?? 0 };
    case 'FAILED':
      if (info.exitSignal !== 0) return { exitCode: null, notice: `Slurm: the job FAILED, killed by signal ${info.exitSignal} (Reason=${info.reason})` };
      return { exitCode: info.exitCode, notice: `Slurm: the job FAILED with ExitCode=${info.exitCode}:${info.exitSignal} (Reason=${info.reason})` };
    case 'TIMEOUT':
      return { exitCode: null, notice: `Slurm: the job reached its time limit (JobState=TIMEOUT, Reason=${info.reason})` };
    case 'CANCELLED':
      return { exitCode: null, notice: `Slurm: the job was CANCELLED (Reason=${info.reason})` };
    default:
      return { exitCode: null, notice: `Slurm: the job ended ${info.state} (Reason=${info.reason}, ExitCode=${info.exitCode}:${info.exitSignal})` };
  }
}

/** The GPUs of one partition, from `sinfo -h -o '%P|%G'` (`Gres=gpu:a100:4(S:0-1)`, `gpu:2`). */
export interface PartitionGres {
  partition: string;
  /** Whether it is the default partition (`debug*`). */
  isDefault: boolean;
  gpus: { model: string; count: number }[];
}

/** Parses `sinfo -h -o '%P|%G'`: one line per partition and distinct Gres. */
export function parseSinfoGres(text: string): PartitionGres[] {
  const partitions = new Map<string, PartitionGres>();
  for (const line of text.split('\n')) {
    const [rawName, gres = ''] = line.trim().split('|');
    if (!rawName) continue;
    const isDefault = rawName.endsWith('*');
    const name = isDefault ? rawName.slice(0, -1) : rawName;
    const entry = partitions.get(name) ?? { partition: name, isDefault, gpus: [] };
    for (const item of gres.split(/,(?![^(]*\))/)) {
      const match = /^gpu(?::([^:(]+))?(?::(\d+))?/.exec(item.trim());
      if (!match) continue;
      // `gpu:4` has no type; `gpu:a100:4` has one.
      const [model, count] = match[2] === undefined && /^\d+$/.test(match[1] ?? '') ? ['gpu', Number(match[1])] : [match[1] ?? 'gpu', Number(match[2] ?? 1)];
      entry.gpus.push({ model, count });
    }
    partitions.set(name, entry);
  }
  return [...partitions.values()];
}
