import * as os from 'node:os';
import * as path from 'node:path';
import { cacheConfigSchema, configSchemaParts, resolveCacheLimits, type CacheConfig, type CacheLimits } from '@tensorify/executor-sdk';

/** How to log in to a host (or a jump host). */
export interface SshAuthConfig {
  /** The login user. Default: the server's own user name. */
  user?: string;
  /** A private key file (OpenSSH or PEM), read at each connect. */
  privateKeyPath?: string;
  /** The name of an environment variable of the server holding the key's passphrase. */
  passphraseEnv?: string;
  /** `true`: the ssh-agent at SSH_AUTH_SOCK; a string: the agent socket's path. */
  agent?: boolean | string;
  /** Pinned host key fingerprints, `SHA256:…` as `ssh-keygen -lf` prints them; when given, the host key must be one of them. */
  fingerprints?: string[];
}

/** A jump host (ProxyJump): the connection to the host is tunnelled through it. */
export interface SshJumpConfig extends SshAuthConfig {
  host: string;
  port?: number;
}

/** One remote host. */
export interface SshHostConfig extends SshAuthConfig {
  /** The host's name in logs, errors and external ids (`gpu1`). */
  name: string;
  /** Its address: a DNS name or an IP address. */
  host: string;
  port?: number;
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
  jump?: SshJumpConfig;
}

/** The `ssh` executor's configuration (`executors.ssh` in the server's config). */
export interface SshExecutorConfig {
  hosts?: SshHostConfig[];
  knownHostsPath?: string;
  acceptUnknownHostKeys?: boolean;
  connectTimeoutSeconds?: number;
  keepConnectionsSeconds?: number;
  killGraceSeconds?: number;
  keepWorkDir?: boolean;
  env?: Record<string, string>;
  pipArgs?: string[];
  logLineMaxBytes?: number;
  cache?: CacheConfig;
}

export interface ResolvedAuth {
  user: string;
  privateKeyPath?: string;
  passphraseEnv?: string;
  /** The agent socket, resolved. */
  agent?: string;
  /** True when `agent: true` was configured but SSH_AUTH_SOCK is unset. */
  agentMissing: boolean;
  fingerprints: string[];
}

export interface ResolvedJump extends ResolvedAuth {
  host: string;
  port: number;
}

export interface ResolvedHost extends ResolvedAuth {
  name: string;
  host: string;
  port: number;
  python: string;
  workDir: string;
  maxConcurrent: number;
  env: Record<string, string>;
  passEnv: string[];
  jump?: ResolvedJump;
}

/** The configuration with every default filled in. */
export interface ResolvedConfig {
  hosts: ResolvedHost[];
  knownHostsPath: string;
  acceptUnknownHostKeys: boolean;
  connectTimeoutSeconds: number;
  keepConnectionsSeconds: number;
  killGraceSeconds: number;
  keepWorkDir: boolean;
  pipArgs: string[];
  logLineMaxBytes: number;
  cache: CacheLimits;
}

/** Each host's venv cache's limits by default: 20 GiB, 30 days. */
export const CACHE_DEFAULTS = { maxSizeGb: 20, maxAgeDays: 30 };

const FINGERPRINT = '^SHA256:[A-Za-z0-9+/]{43}=?$';

const authProperties = {
  user: { type: 'string', minLength: 1, description: 'The login user. Default: the user the server runs as.' },
  privateKeyPath: {
    type: 'string',
    minLength: 1,
    description: "A private key file on the server (OpenSSH or PEM format), read at each connect. `~/` is the server user's home.",
  },
  passphraseEnv: {
    type: 'string',
    pattern: configSchemaParts.variableName,
    description: "The name of an environment variable of the server that holds the private key's passphrase (never the passphrase itself).",
  },
  agent: {
    oneOf: [{ type: 'boolean' }, { type: 'string', minLength: 1 }],
    description: "Authenticate with an ssh-agent: true for the one at SSH_AUTH_SOCK, or the agent socket's path.",
  },
  fingerprints: {
    type: 'array',
    items: { type: 'string', pattern: FINGERPRINT },
    uniqueItems: true,
    description:
      'Pinned host key fingerprints ("SHA256:…", as `ssh-keygen -lf` prints them): when given, the host key must be one of them (known_hosts is not consulted for it).',
  },
} as const;

const anyAuth = [{ required: ['privateKeyPath'] }, { required: ['agent'] }];

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
        anyOf: anyAuth,
        properties: {
          name: {
            type: 'string',
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
            description: "The host's name in logs, errors and external ids (`gpu1:12345`); unique among the hosts.",
          },
          host: { type: 'string', minLength: 1, description: "The host's address: a DNS name or an IP address." },
          port: { type: 'integer', minimum: 1, maximum: 65535, default: 22, description: 'The SSH port.' },
          ...authProperties,
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
          jump: {
            type: 'object',
            additionalProperties: false,
            required: ['host'],
            anyOf: anyAuth,
            description: "A jump host (like ProxyJump): the connection is tunnelled through it. Its key is checked like the host's.",
            properties: {
              host: { type: 'string', minLength: 1, description: "The jump host's address." },
              port: { type: 'integer', minimum: 1, maximum: 65535, default: 22, description: 'Its SSH port.' },
              ...authProperties,
            },
          },
        },
      },
    },
    knownHostsPath: {
      type: 'string',
      minLength: 1,
      description: "An OpenSSH known_hosts file (plain or hashed names, [host]:port entries, @revoked). Default: ~/.ssh/known_hosts of the server's user.",
    },
    acceptUnknownHostKeys: {
      type: 'boolean',
      default: false,
      description:
        'Accept a host key found neither in known_hosts nor among the pinned fingerprints (a warning with its fingerprint is logged at every connect). A key that contradicts one of them is always refused.',
    },
    connectTimeoutSeconds: {
      type: 'number',
      minimum: 0.1,
      maximum: 600,
      default: 10,
      description:
        'How long connecting and logging in to a host (through its jump host) may take; also bounds how long a silent, dead connection goes unnoticed.',
    },
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
      ...resolveAuth(host, env),
      name: host.name,
      host: host.host,
      port: host.port ?? 22,
      python: host.python ?? '/usr/bin/python3',
      workDir: (host.workDir ?? '.tensorify').replace(/\/+$/, '') || '/',
      maxConcurrent: host.maxConcurrent ?? 2,
      env: { ...globalEnv, ...(host.env ?? {}) },
      passEnv: [...(host.passEnv ?? [])],
      jump: host.jump ? { ...resolveAuth(host.jump, env), host: host.jump.host, port: host.jump.port ?? 22 } : undefined,
    };
  });
  return {
    hosts,
    knownHostsPath: expandHome(c.knownHostsPath ?? '~/.ssh/known_hosts'),
    acceptUnknownHostKeys: c.acceptUnknownHostKeys ?? false,
    connectTimeoutSeconds: c.connectTimeoutSeconds ?? 10,
    keepConnectionsSeconds: c.keepConnectionsSeconds ?? 60,
    killGraceSeconds: c.killGraceSeconds ?? 2,
    keepWorkDir: c.keepWorkDir ?? false,
    pipArgs: [...(c.pipArgs ?? [])],
    logLineMaxBytes: c.logLineMaxBytes ?? 16384,
    cache: resolveCacheLimits(c.cache, CACHE_DEFAULTS),
  };
}

function resolveAuth(auth: SshAuthConfig, env: NodeJS.ProcessEnv): ResolvedAuth {
  const agent = auth.agent === true ? env.SSH_AUTH_SOCK || undefined : typeof auth.agent === 'string' ? expandHome(auth.agent) : undefined;
  return {
    user: auth.user ?? os.userInfo().username,
    privateKeyPath: auth.privateKeyPath === undefined ? undefined : expandHome(auth.privateKeyPath),
    passphraseEnv: auth.passphraseEnv,
    agent,
    agentMissing: auth.agent === true && agent === undefined,
    fingerprints: [...(auth.fingerprints ?? [])],
  };
}

function expandHome(file: string): string {
  if (file === '~') return os.homedir();
  if (file.startsWith('~/')) return path.join(os.homedir(), file.slice(2));
  return path.resolve(file);
}
