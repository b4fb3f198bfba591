import * as os from 'node:os';
import * as path from 'node:path';
import { configSchemaParts } from '../config-schema';

/** How to log in to a host (or a jump host), as configured. */
export interface SshLoginConfig {
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
export interface SshJumpConfig extends SshLoginConfig {
  host: string;
  port?: number;
}

/** One host to connect to, as configured: its address, its login and maybe a jump host. */
export interface SshHostConfig extends SshLoginConfig {
  host: string;
  port?: number;
  jump?: SshJumpConfig;
}

/** How host keys are checked and how long connecting may take (executor-wide in `ssh`, per login node in `slurm`). */
export interface SshHostKeysConfig {
  knownHostsPath?: string;
  acceptUnknownHostKeys?: boolean;
  connectTimeoutSeconds?: number;
}

/** {@link SshLoginConfig} with its defaults filled in and its paths expanded. */
export interface ResolvedSshLogin {
  user: string;
  privateKeyPath?: string;
  passphraseEnv?: string;
  /** The agent socket, resolved. */
  agent?: string;
  /** True when `agent: true` was configured but SSH_AUTH_SOCK is unset. */
  agentMissing: boolean;
  fingerprints: string[];
}

export interface ResolvedSshJump extends ResolvedSshLogin {
  host: string;
  port: number;
}

/** What `connect` needs to reach and log in to one host. */
export interface SshTarget extends ResolvedSshLogin {
  /** How errors and warnings name it, e.g. `ssh executor: host gpu1 (10.0.0.5:22)`. */
  label: string;
  host: string;
  port: number;
  jump?: ResolvedSshJump;
}

export interface ResolvedSshHostKeys {
  knownHostsPath: string;
  acceptUnknownHostKeys: boolean;
  connectTimeoutSeconds: number;
}

const FINGERPRINT = '^SHA256:[A-Za-z0-9+/]{43}=?$';

const login = {
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

/** A login needs a key or an agent. */
const anyLogin = [{ required: ['privateKeyPath'] }, { required: ['agent'] }] as const;

const port = (description: string) => ({ type: 'integer', minimum: 1, maximum: 65535, default: 22, description }) as const;

const jump = {
  type: 'object',
  additionalProperties: false,
  required: ['host'],
  anyOf: anyLogin,
  description: "A jump host (like ProxyJump): the connection is tunnelled through it. Its key is checked like the host's.",
  properties: {
    host: { type: 'string', minLength: 1, description: "The jump host's address." },
    port: port('Its SSH port.'),
    ...login,
  },
} as const;

const hostKeys = {
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
} as const;

/**
 * JSON Schema (draft-07) pieces of an SSH connection's configuration, so that every executor that
 * connects over SSH takes the same fields with the same rules and words: the host's address, the
 * login (key, agent, pinned fingerprints), a jump host, and how host keys are checked. Spread the
 * pieces where the executor keeps them (the `ssh` executor has host keys executor-wide and a list
 * of hosts), or take one whole {@link sshConfigSchemaParts.host} block (the `slurm` executor's
 * `loginNode`).
 */
export const sshConfigSchemaParts = {
  /** The login properties: user, privateKeyPath, passphraseEnv, agent, fingerprints. */
  login,
  /** `anyOf` of an object with {@link login}: a key or an agent is required. */
  anyLogin,
  /** The address properties: host, port (default 22). */
  address: {
    host: { type: 'string', minLength: 1, description: "The host's address: a DNS name or an IP address." },
    port: port('The SSH port.'),
  },
  /** `jump`: a jump host, an object with host, port and the login properties. */
  jump,
  /** knownHostsPath, acceptUnknownHostKeys (default false), connectTimeoutSeconds (default 10). */
  hostKeys,
  /** One whole host as a block of its own: address, login, jump host and host key checking, {@link SshHostConfig} & {@link SshHostKeysConfig}. */
  host: (description: string) =>
    ({
      type: 'object',
      additionalProperties: false,
      required: ['host'],
      anyOf: anyLogin,
      description,
      properties: {
        host: { type: 'string', minLength: 1, description: "The host's address: a DNS name or an IP address." },
        port: port('The SSH port.'),
        ...login,
        jump,
        ...hostKeys,
      },
    }) as const,
} as const;

/** Fills in a login's defaults: the server's user name, `~/` of paths, the agent socket. */
export function resolveSshLogin(config: SshLoginConfig, env: NodeJS.ProcessEnv = process.env): ResolvedSshLogin {
  const agent = config.agent === true ? env.SSH_AUTH_SOCK || undefined : typeof config.agent === 'string' ? expandHome(config.agent) : undefined;
  return {
    user: config.user ?? os.userInfo().username,
    privateKeyPath: config.privateKeyPath === undefined ? undefined : expandHome(config.privateKeyPath),
    passphraseEnv: config.passphraseEnv,
    agent,
    agentMissing: config.agent === true && agent === undefined,
    fingerprints: [...(config.fingerprints ?? [])],
  };
}

/** Resolves one host to connect to; `label` is how errors will name it. */
export function resolveSshTarget(config: SshHostConfig, label: string, env: NodeJS.ProcessEnv = process.env): SshTarget {
  return {
    ...resolveSshLogin(config, env),
    label,
    host: config.host,
    port: config.port ?? 22,
    jump: config.jump ? { ...resolveSshLogin(config.jump, env), host: config.jump.host, port: config.jump.port ?? 22 } : undefined,
  };
}

/** Fills in the host key settings' defaults (known_hosts of the server's user, no unknown keys, 10 s). */
export function resolveSshHostKeys(config: SshHostKeysConfig): ResolvedSshHostKeys {
  return {
    knownHostsPath: expandHome(config.knownHostsPath ?? '~/.ssh/known_hosts'),
    acceptUnknownHostKeys: config.acceptUnknownHostKeys ?? false,
    connectTimeoutSeconds: config.connectTimeoutSeconds ?? 10,
  };
}

/** `~` and `~/…` as the server user's home; anything else resolved against the server's working directory. */
export function expandHome(file: string): string {
  if (file === '~') return os.homedir();
  if (file.startsWith('~/')) return path.join(os.homedir(), file.slice(2));
  return path.resolve(file);
}
