import { cacheConfigSchema, configSchemaParts, resolveCacheLimits, type CacheConfig, type CacheLimits } from '@tensorify/executor-sdk';

/** The `docker` executor's configuration (`executors.docker` in the server's config). */
export interface DockerExecutorConfig {
  socketPath?: string;
  host?: string;
  port?: number;
  image?: string;
  pullPolicy?: PullPolicy;
  python?: string;
  pipArgs?: string[];
  pipFindLinksDir?: string;
  buildNetwork?: string;
  network?: string;
  memory?: string | number;
  cpus?: number;
  pidsLimit?: number;
  shmSize?: string | number;
  user?: string;
  env?: Record<string, string>;
  gpu?: 'auto' | boolean;
  logLineMaxBytes?: number;
  killGraceSeconds?: number;
  cache?: CacheConfig;
}

/** The derived images' limits by default: 50 GiB (beyond their base images), 30 days. */
export const CACHE_DEFAULTS = { maxSizeGb: 50, maxAgeDays: 30 };

export type PullPolicy = 'never' | 'if-missing' | 'always';

/** The configuration with every default filled in and the sizes in bytes. */
export interface ResolvedConfig {
  socketPath?: string;
  host?: string;
  port?: number;
  image: string;
  pullPolicy: PullPolicy;
  python: string;
  pipArgs: string[];
  pipFindLinksDir?: string;
  buildNetwork: string;
  network: string;
  /** Bytes; undefined: no limit. */
  memoryBytes?: number;
  cpus?: number;
  pidsLimit?: number;
  shmSizeBytes?: number;
  user?: string;
  env: Record<string, string>;
  gpu: 'auto' | boolean;
  logLineMaxBytes: number;
  killGraceSeconds: number;
  cache: CacheLimits;
}

/** Docker's sizes: a number of bytes, or a number with b, k, m, g or t (powers of 1024), e.g. "256m", "1.5g", "512MiB". */
const SIZE = '^[0-9]+(\\.[0-9]+)?\\s*([kKmMgGtT]([iI]?[bB])?|[bB])?$';
/** The smallest memory limit Docker accepts. */
const MIN_MEMORY_BYTES = 6 * 1024 * 1024;

/** JSON Schema (draft-07) of {@link DockerExecutorConfig}. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  not: { required: ['socketPath', 'host'] },
  dependencies: { port: ['host'] },
  properties: {
    socketPath: {
      type: 'string',
      minLength: 1,
      description:
        "The Docker engine's Unix socket, e.g. /var/run/docker.sock. Default (neither socketPath nor host): DOCKER_HOST (with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH) from the server's environment, else /var/run/docker.sock.",
    },
    host: {
      type: 'string',
      minLength: 1,
      description:
        "The Docker engine's TCP host name or address (plain HTTP, e.g. through an SSH tunnel or on a private network); with port. Not together with socketPath.",
    },
    port: {
      type: 'integer',
      minimum: 1,
      maximum: 65535,
      description: "The Docker engine's TCP port, with host. Default 2375.",
    },
    image: {
      type: 'string',
      minLength: 1,
      default: 'python:3.11-slim',
      description: 'The image programs run in: any image with Python 3.10 or newer (and its venv module, for programs with requirements).',
    },
    pullPolicy: {
      type: 'string',
      enum: ['never', 'if-missing', 'always'],
      default: 'if-missing',
      description:
        'When the image is pulled: never (it must be present: offline engines, images loaded with docker load or built locally), if-missing (once), always (before every run).',
    },
    python: {
      type: 'string',
      minLength: 1,
      default: 'python3',
      description:
        "The Python interpreter inside the image (a name on the image's PATH, or a path): it runs programs without requirements and creates the virtualenvs.",
    },
    pipArgs: configSchemaParts.pipArgs(
      'Extra arguments of `pip install` in the image builds, e.g. ["--index-url", "https://pypi.example.com/simple"] or ["--no-index"].',
    ),
    pipFindLinksDir: {
      type: 'string',
      minLength: 1,
      description:
        'A directory on the server of wheels and source archives, copied into every requirements build and given to pip as --find-links (with ["--no-index"] in pipArgs: installs without any package index).',
    },
    buildNetwork: {
      type: 'string',
      minLength: 1,
      default: 'bridge',
      description: "The network mode of the requirements builds (pip must reach its index): bridge, host, none or a network's name.",
    },
    network: {
      type: 'string',
      minLength: 1,
      default: 'bridge',
      description: "The network mode of the programs' containers: bridge (the default network), none (no network at all), host, or a network's name.",
    },
    memory: {
      anyOf: [
        { type: 'integer', minimum: MIN_MEMORY_BYTES },
        { type: 'string', pattern: SIZE },
      ],
      description:
        'Memory limit of each program\'s container (no swap beyond it): bytes, or e.g. "256m", "2g". Default: none. A program that exceeds it is killed, and the run fails saying so.',
    },
    cpus: {
      type: 'number',
      exclusiveMinimum: 0,
      maximum: 1024,
      description: "CPU limit of each program's container, in CPUs (1.5 = one and a half). Default: none.",
    },
    pidsLimit: {
      type: 'integer',
      minimum: 1,
      description: "Most processes and threads a program's container may have (a fork bomb stops there). Default: none.",
    },
    shmSize: {
      anyOf: [
        { type: 'integer', minimum: 1 },
        { type: 'string', pattern: SIZE },
      ],
      description: "Size of /dev/shm in the programs' containers (PyTorch data loaders want more than Docker's 64m): bytes, or e.g. \"1g\". Default: Docker's.",
    },
    user: {
      type: 'string',
      minLength: 1,
      description:
        'The user programs run as in their containers: a name of the image or "uid[:gid]", e.g. "1000:1000". Default: the image\'s user. (Requirements are always installed as root.)',
    },
    env: configSchemaParts.env(
      'Fixed variables set for every run and every requirements build, e.g. {"HF_HOME": "/cache/hf"} or {"PIP_INDEX_URL": "…"}. Nothing of the server\'s own environment reaches the containers.',
    ),
    gpu: {
      anyOf: [{ type: 'boolean' }, { type: 'string', enum: ['auto'] }],
      default: 'auto',
      description:
        'Whether the executor offers GPUs (GET /v1/executors; gpu runs are routed by it): auto (when the engine has the nvidia runtime), true or false. A gpu run always asks the engine for all GPUs.',
    },
    logLineMaxBytes: configSchemaParts.logLineMaxBytes,
    killGraceSeconds: configSchemaParts.killGraceSeconds(5, 'On cancel or timeout, seconds between SIGTERM and SIGKILL to the container.'),
    cache: cacheConfigSchema(
      CACHE_DEFAULTS,
      'the derived images (tensorify-venv:<hash>) this server built or used, sized by what they add to their base image',
    ),
  },
} as const;

/** Fills in the defaults (the server does so from the schema; this also serves direct use) and converts the sizes; throws on a bad size. */
export function resolveConfig(config: DockerExecutorConfig | undefined): ResolvedConfig {
  const c = config ?? {};
  if (c.socketPath !== undefined && c.host !== undefined) throw new Error('docker executor: configure socketPath or host, not both');
  const memoryBytes = c.memory === undefined ? undefined : parseSize(c.memory, 'memory');
  if (memoryBytes !== undefined && memoryBytes < MIN_MEMORY_BYTES)
    throw new Error(`docker executor: memory must be at least 6m (Docker's minimum), not ${JSON.stringify(c.memory)}`);
  return {
    socketPath: c.socketPath,
    host: c.host,
    port: c.host === undefined ? undefined : (c.port ?? 2375),
    image: c.image ?? 'python:3.11-slim',
    pullPolicy: c.pullPolicy ?? 'if-missing',
    python: c.python ?? 'python3',
    pipArgs: [...(c.pipArgs ?? [])],
    pipFindLinksDir: c.pipFindLinksDir,
    buildNetwork: c.buildNetwork ?? 'bridge',
    network: c.network ?? 'bridge',
    memoryBytes,
    cpus: c.cpus,
    pidsLimit: c.pidsLimit,
    shmSizeBytes: c.shmSize === undefined ? undefined : parseSize(c.shmSize, 'shmSize'),
    user: c.user,
    env: { ...(c.env ?? {}) },
    gpu: c.gpu ?? 'auto',
    logLineMaxBytes: c.logLineMaxBytes ?? 16384,
    killGraceSeconds: c.killGraceSeconds ?? 5,
    cache: resolveCacheLimits(c.cache, CACHE_DEFAULTS),
  };
}

const UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Bytes of a Docker size: an integer, or "256m", "1.5g", "512MiB" (k, m, g, t are powers of 1024, as for docker run). */
export function parseSize(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value > 0) return value;
  } else {
    const match = new RegExp(SIZE).exec(value.trim());
    if (match) {
      const unit = (match[2] ?? 'b')[0].toLowerCase();
      const bytes = Math.floor(parseFloat(value) * UNITS[unit]);
      if (bytes > 0 && Number.isSafeInteger(bytes)) return bytes;
    }
  }
  throw new Error(`docker executor: ${field} must be a number of bytes or a size such as "256m" or "2g", not ${JSON.stringify(value)}`);
}

/** "64 MiB", "1.5 GiB", "800 KiB", "100 bytes". */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  }
  return `${bytes} bytes`;
}
