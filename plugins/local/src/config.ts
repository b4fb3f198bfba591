import * as path from 'node:path';
import { cacheConfigSchema, configSchemaParts, resolveCacheLimits, type CacheConfig, type CacheLimits } from '@tensorify/executor-sdk';

/** The `local` executor's configuration (`executors.local` in the server's config). */
export interface LocalExecutorConfig {
  python?: string;
  venvDir?: string;
  workDir?: string;
  keepWorkDir?: boolean;
  passEnv?: string[];
  env?: Record<string, string>;
  pipArgs?: string[];
  logLineMaxBytes?: number;
  killGraceSeconds?: number;
  gpu?: 'auto' | boolean;
  memoryLimitMb?: number;
  warm?: WarmConfig;
  cache?: CacheConfig;
}

/** The venv cache's limits by default: 20 GiB, 30 days. */
export const CACHE_DEFAULTS = { maxSizeGb: 20, maxAgeDays: 30 };

/** Warm mode: per interpreter (venv), a zygote that imported the programs' modules forks each run. */
export interface WarmConfig {
  enabled?: boolean;
  maxZygotes?: number;
  idleSeconds?: number;
  maxMemoryMb?: number;
}

/** The configuration with every default filled in. */
export type ResolvedConfig = Required<Omit<LocalExecutorConfig, 'warm' | 'memoryLimitMb' | 'cache'>> & {
  warm: Required<WarmConfig>;
  cache: CacheLimits;
  /** Null: no limit. */
  memoryLimitMb: number | null;
};

/** The smallest memory limit: below it Python itself hardly starts. */
export const MIN_MEMORY_LIMIT_MB = 32;

/** JSON Schema (draft-07) of {@link LocalExecutorConfig}. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    python: {
      type: 'string',
      minLength: 1,
      default: 'python3',
      description:
        "The Python 3 interpreter (a name looked up on the server's PATH, or a path) that creates the virtualenvs and runs programs whose requirements.txt lists no package.",
    },
    venvDir: {
      type: 'string',
      minLength: 1,
      description: 'Where virtualenvs are cached, one per distinct requirements.txt (and interpreter). Default: <executor data dir>/venvs.',
    },
    workDir: {
      type: 'string',
      minLength: 1,
      description: 'Where each run gets its fresh working directory, <workDir>/<executionId>-<random>. Default: <executor data dir>/runs.',
    },
    keepWorkDir: {
      type: 'boolean',
      default: false,
      description: "Keep each run's working directory afterwards (for debugging) instead of removing it.",
    },
    passEnv: configSchemaParts.passEnv(
      'Names of variables of the server\'s own environment passed to programs (and to pip), e.g. ["HTTPS_PROXY"]. Nothing else of the server\'s environment reaches them.',
    ),
    env: configSchemaParts.env('Fixed variables set for every run (and for pip), e.g. {"HF_HOME": "/srv/hf-cache"}.'),
    pipArgs: configSchemaParts.pipArgs('Extra arguments of `pip install`, e.g. ["--index-url", "https://pypi.example.com/simple"].'),
    logLineMaxBytes: configSchemaParts.logLineMaxBytes,
    killGraceSeconds: configSchemaParts.killGraceSeconds(2, "On cancel or timeout, seconds between SIGTERM and SIGKILL to the program's process group."),
    gpu: {
      enum: ['auto', true, false],
      default: 'auto',
      description:
        'Whether runs asking for a GPU may come here: "auto" when systeminformation finds an NVIDIA or AMD GPU; true or false to say so yourself (a machine where detection cannot see the GPU, or one whose GPU is kept for other work).',
    },
    memoryLimitMb: {
      type: 'integer',
      minimum: MIN_MEMORY_LIMIT_MB,
      description:
        "Caps each run's memory at this many MiB (RLIMIT_DATA: the heap and anonymous mappings, not the libraries' code nor reserved address space), set in the run's own process before the program starts, warm or cold; an allocation past it fails (MemoryError) and the run fails saying so. Default: no limit. TENSORIFY_LOCAL_MEMORY_LIMIT_MB overrides it (0: no limit).",
    },
    warm: {
      type: 'object',
      additionalProperties: false,
      default: {},
      description:
        'Warm mode: per interpreter (a venv, or the configured python) a zygote process imports the modules the programs import and forks each run, which then becomes what a cold start is. TENSORIFY_LOCAL_WARM=false also turns it off.',
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Fork runs from warm zygotes; false starts every run cold.' },
        maxZygotes: {
          type: 'integer',
          minimum: 1,
          maximum: 64,
          default: 4,
          description: 'At most this many zygotes (one per venv); the least recently used idle one makes room.',
        },
        idleSeconds: { type: 'number', minimum: 1, default: 600, description: 'A zygote unused for this long is stopped.' },
        maxMemoryMb: {
          type: 'integer',
          minimum: 1,
          default: 4096,
          description: "A zygote whose resident memory exceeds this many MiB is stopped, and its venv's runs start cold.",
        },
      },
    },
    cache: cacheConfigSchema(CACHE_DEFAULTS, 'the virtualenvs under venvDir'),
  },
} as const;

/**
 * `TENSORIFY_LOCAL_WARM`: `false`/`0`/`off`/`no` turns warm mode off (whatever the config says),
 * `true`/`1`/`on`/`yes` or unset leaves it to the config.
 */
export function warmFromEnvironment(value: string | undefined): boolean {
  if (value === undefined || value.trim() === '') return true;
  const text = value.trim().toLowerCase();
  if (['false', '0', 'off', 'no'].includes(text)) return false;
  if (['true', '1', 'on', 'yes'].includes(text)) return true;
  throw new Error(`TENSORIFY_LOCAL_WARM must be true or false, not ${JSON.stringify(value)}`);
}

/**
 * `TENSORIFY_LOCAL_MEMORY_LIMIT_MB`: a whole number of MiB (at least {@link MIN_MEMORY_LIMIT_MB})
 * overrides the config's `memoryLimitMb`; `0` removes the limit; unset or empty leaves it to the config.
 */
export function memoryLimitFromEnvironment(value: string | undefined, configured: number | null): number | null {
  if (value === undefined || value.trim() === '') return configured;
  const text = value.trim();
  if (text === '0') return null;
  if (!/^\d+$/.test(text) || Number(text) < MIN_MEMORY_LIMIT_MB) {
    throw new Error(
      `TENSORIFY_LOCAL_MEMORY_LIMIT_MB must be a whole number of MiB, at least ${MIN_MEMORY_LIMIT_MB} (or 0 for no limit), not ${JSON.stringify(value)}`,
    );
  }
  return Number(text);
}

/** Fills in the defaults (the server does so from the schema; this also serves direct use). */
export function resolveConfig(config: LocalExecutorConfig | undefined, dataDir: string, serverEnv: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const c = config ?? {};
  const w = c.warm ?? {};
  return {
    python: c.python ?? 'python3',
    venvDir: path.resolve(c.venvDir ?? path.join(dataDir, 'venvs')),
    workDir: path.resolve(c.workDir ?? path.join(dataDir, 'runs')),
    keepWorkDir: c.keepWorkDir ?? false,
    passEnv: [...(c.passEnv ?? [])],
    env: { ...(c.env ?? {}) },
    pipArgs: [...(c.pipArgs ?? [])],
    logLineMaxBytes: c.logLineMaxBytes ?? 16384,
    killGraceSeconds: c.killGraceSeconds ?? 2,
    gpu: c.gpu ?? 'auto',
    memoryLimitMb: memoryLimitFromEnvironment(serverEnv.TENSORIFY_LOCAL_MEMORY_LIMIT_MB, c.memoryLimitMb ?? null),
    warm: {
      enabled: (w.enabled ?? true) && warmFromEnvironment(serverEnv.TENSORIFY_LOCAL_WARM),
      maxZygotes: w.maxZygotes ?? 4,
      idleSeconds: w.idleSeconds ?? 600,
      maxMemoryMb: w.maxMemoryMb ?? 4096,
    },
    cache: resolveCacheLimits(c.cache, CACHE_DEFAULTS),
  };
}
