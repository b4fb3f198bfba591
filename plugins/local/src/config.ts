import * as path from 'node:path';
import { configSchemaParts } from '@tensorify/executor-sdk';

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
}

/** The configuration with every default filled in. */
export type ResolvedConfig = Required<LocalExecutorConfig>;

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
  },
} as const;

/** Fills in the defaults (the server does so from the schema; this also serves direct use). */
export function resolveConfig(config: LocalExecutorConfig | undefined, dataDir: string): ResolvedConfig {
  const c = config ?? {};
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
  };
}
