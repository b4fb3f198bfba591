import { cacheConfigSchema, configSchemaParts, resolveCacheLimits, type CacheConfig, type CacheLimits } from '@tensorify/executor-sdk';
import {
  resolveSshHostKeys,
  resolveSshTarget,
  sshConfigSchemaParts,
  type ResolvedSshHostKeys,
  type SshHostConfig as SshAddressConfig,
  type SshHostKeysConfig,
  type SshTarget,
} from '@tensorify/executor-sdk/ssh';

export type { SshJumpConfig } from '@tensorify/executor-sdk/ssh';

/** One remote host: its address, login and jump host (the SDK's SSH fields), and what runs there. */
export interface SshHostConfig extends SshAddressConfig {
  /** The host's name in logs, errors and external ids (`gpu1`). */
  name: string;
  /** The Python 3 interpreter on the host, an absolute path (a bare `python3` may be a pyenv shim there). */
  python?: string;
  /** Where runs get their directories and virtualenvs live on the host; relative to the user's home unless absolute. */
  workDir?: string;
  /** How many runs the host takes at once. */
  maxConcurrent?: number;
  /** Fixed variables for programs and pip on this host (over the executor-wide `env`). */
  env?: Record<string, string>;
  /** Names of variables of the host's own SSH session environment passed to programs (e.g. LD_LIBRARY_PATH). */
  passEnv?: string[];
}

/** The `ssh` executor's configuration (`executors.ssh` in the server's config). */
export interface SshExecutorConfig extends SshHostKeysConfig {
  hosts?: SshHostConfig[];
  keepConnectionsSeconds?: number;
  killGraceSeconds?: number;
  keepWorkDir?: boolean;
  env?: Record<string, string>;
  pipArgs?: string[];
  logLineMaxBytes?: number;
  cache?: CacheConfig;
}

/** A host resolved: what connecting needs (its `label` names it in errors: `ssh executor: host gpu1 (10.0.0.5:22)`) and what runs there need. */
export interface ResolvedHost extends SshTarget {
  name: string;
  python: string;
  workDir: string;
  maxConcurrent: number;
  env: Record<string, string>;
  passEnv: string[];
}

/** The configuration with every default filled in. */
export interface ResolvedConfig extends ResolvedSshHostKeys {
  hosts: ResolvedHost[];
  keepConnectionsSeconds: number;
  killGraceSeconds: number;
  keepWorkDir: boolean;
  pipArgs: string[];
  logLineMaxBytes: number;
  cache: CacheLimits;
}

/** Each host's venv cache's limits by default: 20 GiB, 30 days. */
export const CACHE_DEFAULTS = { maxSizeGb: 20, maxAgeDays: 30 };

/** JSON Schema (draft-07) of {@link SshExecutorConfig}. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hosts: {
      type: 'array',
      default: [],
      description:
        'The hosts runs go to: each run goes to the least busy healthy one (a `gpu` run only to a host whose nvidia-smi lists a GPU). Without hosts the executor loads but is unhealthy and refuses runs.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'host'],
        anyOf: sshConfigSchemaParts.anyLogin,
        properties: {
          name: {
            type: 'string',
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
            description: "The host's name in logs, errors and external ids (`gpu1:12345`); unique among the hosts.",
          },
          ...sshConfigSchemaParts.address,
          ...sshConfigSchemaParts.login,
          python: {
            type: 'string',
            pattern: '^/',
            default: '/usr/bin/python3',
            description:
              'The Python 3 interpreter on the host, an absolute path. It runs the supervisor, creates the virtualenvs and runs programs whose requirements.txt lists no package.',
          },
          workDir: {
            type: 'string',
            minLength: 1,
            default: '.tensorify',
            description:
              "The host directory holding runs/ (one directory per run, removed afterwards) and venvs/ (one virtualenv per requirements.txt); relative to the user's home unless absolute.",
          },
          maxConcurrent: {
            type: 'integer',
            minimum: 1,
            maximum: 1024,
            default: 2,
            description: 'How many runs the host takes at once; more wait for a free slot.',
          },
          env: configSchemaParts.env('Fixed variables for programs and pip on this host, over the executor-wide `env`.'),
          passEnv: configSchemaParts.passEnv(
            'Names of variables of the host\'s SSH session environment passed to programs, e.g. ["LD_LIBRARY_PATH"]. Nothing of the server\'s environment reaches the host.',
          ),
          jump: sshConfigSchemaParts.jump,
        },
      },
    },
    ...sshConfigSchemaParts.hostKeys,
    keepConnectionsSeconds: {
      type: 'number',
      minimum: 0,
      maximum: 3600,
      default: 60,
      description: 'How long an idle connection (with a supervisor started ahead on it) is kept for the next run; 0 opens a connection per run.',
    },
    killGraceSeconds: configSchemaParts.killGraceSeconds(
      2,
      "On cancel or timeout, seconds between SIGTERM and SIGKILL to the program's process group on the host.",
    ),
    keepWorkDir: {
      type: 'boolean',
      default: false,
      description: "Keep each run's directory on the host afterwards (for debugging) instead of removing it.",
    },
    env: configSchemaParts.env('Fixed variables set for every run (and for pip) on every host.'),
    pipArgs: configSchemaParts.pipArgs('Extra arguments of `pip install` on the hosts, e.g. ["--index-url", "https://pypi.example.com/simple"].'),
    logLineMaxBytes: configSchemaParts.logLineMaxBytes,
    cache: cacheConfigSchema(CACHE_DEFAULTS, "each host's virtualenvs (<workDir>/venvs; the limits are per host)"),
  },
} as const;

/** Fills in the defaults (the server does so from the schema; this also serves direct use) and checks what the schema cannot. */
export function resolveConfig(config: SshExecutorConfig, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const c = config ?? {};
  const names = new Set<string>();
  const globalEnv = { ...(c.env ?? {}) };
  const hosts = (c.hosts ?? []).map((host): ResolvedHost => {
    if (names.has(host.name)) throw new Error(`ssh executor: two hosts are named ${JSON.stringify(host.name)}`);
    names.add(host.name);
    return {
      ...resolveSshTarget(host, `ssh executor: ${describeHost(host)}`, env),
      name: host.name,
      python: host.python ?? '/usr/bin/python3',
      workDir: (host.workDir ?? '.tensorify').replace(/\/+$/, '') || '/',
      maxConcurrent: host.maxConcurrent ?? 2,
      env: { ...globalEnv, ...(host.env ?? {}) },
      passEnv: [...(host.passEnv ?? [])],
    };
  });
  return {
    hosts,
    ...resolveSshHostKeys(c),
    keepConnectionsSeconds: c.keepConnectionsSeconds ?? 60,
    killGraceSeconds: c.killGraceSeconds ?? 2,
    keepWorkDir: c.keepWorkDir ?? false,
    pipArgs: [...(c.pipArgs ?? [])],
    logLineMaxBytes: c.logLineMaxBytes ?? 16384,
    cache: resolveCacheLimits(c.cache, CACHE_DEFAULTS),
  };
}

/** `host gpu1 (10.0.0.5:22)`, as errors name a host. */
export function describeHost(host: Pick<SshHostConfig, 'name' | 'host' | 'port'>): string {
  return `host ${host.name} (${host.host}:${host.port ?? 22})`;
}

/** An error message without its `ssh executor: host gpu1 (…): ` prefix, for a line that already names the host. */
export function withoutHostPrefix(message: string): string {
  return message.replace(/^ssh executor: host \S+ \([^)]*\): /, '');
}
