import * as path from 'node:path';
import { configSchemaParts } from '@tensorify/executor-sdk';
import {
  resolveSshHostKeys,
  resolveSshTarget,
  sshConfigSchemaParts,
  type ResolvedSshHostKeys,
  type SshHostConfig,
  type SshHostKeysConfig,
  type SshTarget,
} from '@tensorify/executor-sdk/ssh';

/** The login node of transport "ssh": the SDK's SSH fields (address, login, jump host, host keys). */
export interface SlurmLoginNodeConfig extends SshHostConfig, SshHostKeysConfig {}

/** The `slurm` executor's configuration (`executors.slurm` in the server's config). */
export interface SlurmExecutorConfig {
  transport?: 'local' | 'ssh' | 'slurmrestd';
  loginNode?: SlurmLoginNodeConfig;
  restUrl?: string;
  restApiVersion?: string;
  restUser?: string;
  restToken?: string;
  restTokenFile?: string;
  binDir?: string;
  workDir?: string;
  venvDir?: string;
  python?: string;
  partition?: string;
  account?: string;
  qos?: string;
  cpusPerTask?: number;
  mem?: string;
  gpu?: 'auto' | boolean;
  gpuPartition?: string;
  gres?: string;
  sbatchArgs?: string[];
  keepWorkDir?: boolean;
  env?: Record<string, string>;
  pipArgs?: string[];
  pollSeconds?: number;
  logLineMaxBytes?: number;
}

/** The configuration with every default filled in (the optional Slurm options stay undefined: sbatch's own defaults). */
type Optional =
  | 'binDir'
  | 'workDir'
  | 'partition'
  | 'account'
  | 'qos'
  | 'cpusPerTask'
  | 'mem'
  | 'gpuPartition'
  | 'restUrl'
  | 'restUser'
  | 'restToken'
  | 'restTokenFile'
  | 'loginNode';
export type ResolvedConfig = Required<Omit<SlurmExecutorConfig, Optional>> & Pick<SlurmExecutorConfig, Optional>;

const SLURM_NAME = '^[A-Za-z0-9_.-]+$';

/** JSON Schema (draft-07) of {@link SlurmExecutorConfig}. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    transport: {
      enum: ['local', 'ssh', 'slurmrestd'],
      default: 'local',
      description:
        '"local": the server runs on a login node of the cluster and calls sbatch, scontrol, scancel and sinfo itself. "ssh": the server logs in to the login node `loginNode` over SSH, calls them there and reaches workDir by SFTP. "slurmrestd": through slurmrestd\'s REST API with a JWT (restUrl, restUser, restToken or restTokenFile); the server must still see workDir (the shared filesystem mounted at the same path).',
    },
    loginNode: sshConfigSchemaParts.host(
      'The login node of transport "ssh": its address, the login (privateKeyPath or agent), a jump host, and how its host key is checked (known_hosts or pinned fingerprints). One connection serves every run and is opened again when lost.',
    ),
    restUrl: { type: 'string', pattern: '^https?://', description: 'slurmrestd\'s base URL, e.g. "http://login1:6820" (transport "slurmrestd").' },
    restApiVersion: {
      type: 'string',
      pattern: '^v[0-9.]+$',
      default: 'v0.0.38',
      description: "The API version in slurmrestd's paths (v0.0.38 is Slurm 22.05).",
    },
    restUser: { type: 'string', minLength: 1, description: 'X-SLURM-USER-NAME: the user the jobs run as.' },
    restToken: { type: 'string', minLength: 1, description: 'X-SLURM-USER-TOKEN: a JWT (`scontrol token username=… lifespan=…`).' },
    restTokenFile: {
      type: 'string',
      minLength: 1,
      description: 'A file holding the JWT (or SLURM_JWT=…), read at each request so a rotated token is picked up.',
    },
    binDir: {
      type: 'string',
      minLength: 1,
      description: "Directory of Slurm's commands when they are not on the PATH (the server's, or the login node's with transport \"ssh\").",
    },
    workDir: {
      type: 'string',
      minLength: 1,
      description:
        "Directory on the cluster's shared filesystem (seen at the same path by the login node and every compute node) where each run gets <workDir>/<executionId>-<random>; an absolute path with transport \"ssh\". Required: without it the executor loads but is unhealthy and refuses runs (the server's own data dir is rarely on the cluster's shared filesystem).",
    },
    venvDir: {
      type: 'string',
      minLength: 1,
      description:
        'Shared directory of the virtualenvs, one per requirements hash, built by the first job that needs one (behind a flock). Default: <workDir>/venvs.',
    },
    python: {
      type: 'string',
      minLength: 1,
      default: 'python3',
      description: 'The Python 3 interpreter on the compute nodes (a name on their PATH, or a path).',
    },
    partition: { type: 'string', pattern: SLURM_NAME, description: "sbatch --partition (default: the cluster's default partition)." },
    account: { type: 'string', pattern: SLURM_NAME, description: 'sbatch --account.' },
    qos: { type: 'string', pattern: SLURM_NAME, description: 'sbatch --qos.' },
    cpusPerTask: { type: 'integer', minimum: 1, maximum: 4096, description: 'sbatch --cpus-per-task.' },
    mem: { type: 'string', pattern: '^[0-9]+[KMGT]?$', description: 'sbatch --mem, e.g. "4G".' },
    gpu: {
      enum: ['auto', true, false],
      default: 'auto',
      description: '"auto": runs asking for a GPU may come here when a partition has gpu Gres (sinfo); true or false to say so yourself.',
    },
    gpuPartition: {
      type: 'string',
      pattern: SLURM_NAME,
      description: 'The partition of runs asking for a GPU. Default: `partition` when it has GPUs, else the first partition sinfo shows with gpu Gres.',
    },
    gres: { type: 'string', pattern: '^[A-Za-z0-9_:.,-]+$', default: 'gpu:1', description: 'sbatch --gres of runs asking for a GPU.' },
    sbatchArgs: {
      type: 'array',
      items: { type: 'string', pattern: '^--?[A-Za-z]' },
      default: [],
      description: 'Extra sbatch flags, one per item with its value, e.g. ["--constraint=a100", "--reservation=ml"].',
    },
    keepWorkDir: { type: 'boolean', default: false, description: "Keep each run's directory (job script, Slurm's output files) afterwards." },
    env: configSchemaParts.env('Fixed variables set for every run (and for pip), e.g. {"HF_HOME": "/shared/hf-cache"}.'),
    pipArgs: configSchemaParts.pipArgs('Extra arguments of `pip install`, e.g. ["--index-url", "https://pypi.example.com/simple"].'),
    pollSeconds: { type: 'number', minimum: 0.2, maximum: 60, default: 2, description: 'How often a job is followed with scontrol and its output files read.' },
    logLineMaxBytes: configSchemaParts.logLineMaxBytes,
  },
} as const;

/** Fills in the defaults (the server does so from the schema; this also serves direct use) and checks what the schema cannot. */
export function resolveConfig(config: SlurmExecutorConfig | undefined): ResolvedConfig {
  const c = config ?? {};
  const transport = c.transport ?? 'local';
  if (transport === 'ssh' && !c.loginNode) throw new Error('slurm executor: transport "ssh" needs loginNode (its host and a privateKeyPath or agent)');
  if (transport !== 'ssh' && c.loginNode) throw new Error(`slurm executor: loginNode is only used with transport "ssh" (transport is "${transport}")`);
  if (transport === 'ssh') {
    // Paths on the login node, not the server's: relative ones would be resolved against the server's working directory.
    for (const [name, value] of [
      ['workDir', c.workDir],
      ['venvDir', c.venvDir],
    ] as const) {
      if (value !== undefined && !path.posix.isAbsolute(value))
        throw new Error(`slurm executor: with transport "ssh", ${name} must be an absolute path on the cluster (got ${JSON.stringify(value)})`);
    }
  }
  const workDir = c.workDir === undefined ? undefined : path.resolve(c.workDir);
  return {
    transport,
    loginNode: c.loginNode,
    restUrl: c.restUrl,
    restApiVersion: c.restApiVersion ?? 'v0.0.38',
    restUser: c.restUser,
    restToken: c.restToken,
    restTokenFile: c.restTokenFile,
    binDir: c.binDir,
    workDir,
    venvDir: c.venvDir !== undefined ? path.resolve(c.venvDir) : workDir !== undefined ? path.join(workDir, 'venvs') : '',
    python: c.python ?? 'python3',
    partition: c.partition,
    account: c.account,
    qos: c.qos,
    cpusPerTask: c.cpusPerTask,
    mem: c.mem,
    gpu: c.gpu ?? 'auto',
    gpuPartition: c.gpuPartition,
    gres: c.gres ?? 'gpu:1',
    sbatchArgs: [...(c.sbatchArgs ?? [])],
    keepWorkDir: c.keepWorkDir ?? false,
    env: { ...(c.env ?? {}) },
    pipArgs: [...(c.pipArgs ?? [])],
    pollSeconds: c.pollSeconds ?? 2,
    logLineMaxBytes: c.logLineMaxBytes ?? 16384,
  };
}

/** The login node of transport "ssh", resolved for connecting: errors name it `slurm executor: login node ml@login1:22`. */
export function resolveLoginNode(loginNode: SlurmLoginNodeConfig, env: NodeJS.ProcessEnv = process.env): { target: SshTarget; hostKeys: ResolvedSshHostKeys } {
  const target = resolveSshTarget(loginNode, '', env);
  return { target: { ...target, label: `slurm executor: login node ${target.user}@${target.host}:${target.port}` }, hostKeys: resolveSshHostKeys(loginNode) };
}
