import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type DatabaseConfig = { type: 'sqlite'; path: string } | { type: 'postgres'; url: string };

/** Proxy trust as Express understands it: off, on, a hop count, or a list of addresses/subnets. */
export type TrustProxy = boolean | number | string[];

export interface AppConfig {
  readonly port: number;
  readonly host: string;
  readonly dataDir: string;
  readonly database: DatabaseConfig;
  readonly redisUrl: string | null;
  readonly bootstrapApiKey: string | null;
  readonly logLevel: LogLevel;
  readonly bodyLimitBytes: number;
  readonly trustProxy: TrustProxy;
  readonly enterpriseRateLimitPerMinute: number;
  readonly authFailuresPerMinute: number;
  readonly maxWorkflowNodes: number;
  readonly lastUsedFlushSeconds: number;
  readonly executionConcurrency: number;
  /** Whether this process runs executions (false: an API instance of the distributed mode that leaves them to workers). */
  readonly processExecutions: boolean;
  /** Distributed mode: a running execution whose worker has not been heard of for this long ends WORKER_LOST. */
  readonly workerStallSeconds: number;
  /** How often the retention job prunes finished executions older than their workspace's retention (0: never). */
  readonly retentionIntervalSeconds: number;
  readonly executionTimeoutSeconds: number;
  readonly maxExecutionSeconds: number;
  readonly executionLogLines: number;
  readonly enterpriseConcurrentExecutions: number;
  readonly executorPlugins: readonly string[];
  /** Node packs to load besides the plugins/ folder and the installed ones: package names or paths. */
  readonly nodePacks: readonly string[];
  /** Per-executor configuration by executor id (`executors` in the TENSORIFY_CONFIG file), validated by each plugin's schema. */
  readonly executors: Readonly<Record<string, unknown>>;
  /** The 32-byte key that encrypts webhook secrets at rest (AES-256-GCM); null: generated into `<dataDir>/secrets.key` on first use. */
  readonly secretsKey: Buffer | null;
  /** The server's public base URL (`https://tensorify.example.com`) for the URLs it hands out; null: the request's own host. */
  readonly publicUrl: string | null;
  /** Completion callbacks may go to loopback, private, link-local and metadata addresses (tests, closed networks). */
  readonly callbackAllowPrivate: boolean;
  readonly configFile: string | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const API_KEY_PATTERN = /^tfy_[0-9A-Za-z]{32,128}$/;

/** A setting's raw value: an environment variable's text, or a value of the TENSORIFY_CONFIG file (objects and arrays only where a setting takes them). */
type Raw = string | number | boolean | object;
type Parsed<K extends keyof AppConfig> = { value: AppConfig[K] } | { problem: string };

interface Setting<K extends keyof AppConfig> {
  key: K;
  env: string;
  /** The key in the TENSORIFY_CONFIG file, where the setting may also be given. */
  fileKey: string;
  description: string;
  defaultText: string;
  parse(raw: Raw | undefined, resolved: Partial<AppConfig>): Parsed<K>;
}

const ok = <T>(value: T) => ({ value });
const bad = (problem: string) => ({ problem });
/** A setting as text: an environment variable is one already; a config file may hold numbers, booleans or JSON. */
const asText = (raw: Raw): string => (typeof raw === 'object' ? JSON.stringify(raw) : String(raw));
const show = (raw: Raw) => JSON.stringify(asText(raw));

function integer(raw: Raw | undefined, fallback: number, min: number, max: number) {
  if (raw === undefined || raw === '') return ok(fallback);
  const text = asText(raw).trim();
  const n = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(n) || n < min || n > max) {
    return bad(`must be an integer from ${min} to ${max}, got ${show(raw)}`);
  }
  return ok(n);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

function boolean(raw: Raw | undefined, fallback: boolean): { value: boolean } | { problem: string } {
  if (raw === undefined || raw === '') return ok(fallback);
  if (raw === true || raw === 'true' || raw === '1') return ok(true);
  if (raw === false || raw === 'false' || raw === '0') return ok(false);
  return bad(`must be true or false, not ${show(raw)}`);
}

function byteSize(raw: Raw | undefined, fallback: number, max: number) {
  if (raw === undefined || raw === '') return ok(fallback);
  const match = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?$/i.exec(asText(raw).trim());
  const bytes = match ? Math.floor(Number(match[1]) * SIZE_UNITS[(match[2] ?? '').toLowerCase()]) : NaN;
  if (!match || bytes < 1024 || bytes > max) {
    return bad(`must be a size from 1kb to ${max / 1024 ** 2}mb such as "1mb" or "512kb", got ${show(raw)}`);
  }
  return ok(bytes);
}

function trustProxy(raw: Raw | undefined) {
  if (raw === undefined || raw === '' || raw === false || raw === 'false') return ok<TrustProxy>(false);
  if (raw === true || raw === 'true') return ok<TrustProxy>(true);
  const text = asText(raw).trim();
  if (/^\d+$/.test(text)) return ok(Number(text) as TrustProxy);
  const entries = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const address = /^(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-f:]+)(?:\/\d{1,3})?$/i;
  const wrong = entries.filter((e) => !named.has(e) && !address.test(e));
  if (entries.length === 0 || wrong.length > 0) {
    return bad(
      `must be "true", "false", a hop count, or a comma-separated list of IP addresses, CIDR subnets ` +
        `or loopback/linklocal/uniquelocal; not understood: ${wrong.map((w) => JSON.stringify(w)).join(', ') || show(raw)}`,
    );
  }
  return ok(entries as TrustProxy);
}

function databaseFromUrl(raw: Raw | undefined, dataDir: string): Parsed<'database'> {
  if (raw === undefined || raw === '') return ok({ type: 'sqlite', path: resolve(dataDir, 'tensorify.db') });
  const text = asText(raw).trim();
  if (/^postgres(ql)?:\/\//i.test(text)) {
    try {
      const url = new URL(text);
      if (!url.hostname) return bad(`a PostgreSQL URL needs a host, got ${show(raw)}`);
      return ok({ type: 'postgres', url: text });
    } catch {
      return bad(`is not a valid PostgreSQL URL (postgres://user:password@host:5432/database)`);
    }
  }
  const sqlite = /^sqlite:(?:\/\/)?(.+)$/i.exec(text);
  if (sqlite) return ok({ type: 'sqlite', path: isAbsolute(sqlite[1]) ? sqlite[1] : resolve(sqlite[1]) });
  return bad(`must start with postgres://, postgresql:// or sqlite:, got ${show(asText(raw).replace(/\/\/[^@/]*@/, '//***@'))}`);
}

const SETTINGS: { [K in keyof AppConfig]: Setting<K> } = {
  port: {
    key: 'port',
    env: 'TENSORIFY_PORT',
    fileKey: 'port',
    defaultText: '3000',
    description: 'TCP port of the HTTP API.',
    parse: (raw) => integer(raw, 3000, 0, 65535),
  },
  host: {
    key: 'host',
    env: 'TENSORIFY_HOST',
    fileKey: 'host',
    defaultText: '0.0.0.0',
    description: 'Interface to listen on (`127.0.0.1` keeps the server local to the machine).',
    parse: (raw) => {
      const text = raw === undefined || raw === '' ? '0.0.0.0' : asText(raw).trim();
      return /^[A-Za-z0-9.:[\]-]+$/.test(text) ? ok(text) : bad(`must be a host name or IP address, got ${show(text)}`);
    },
  },
  dataDir: {
    key: 'dataDir',
    env: 'TENSORIFY_DATA_DIR',
    fileKey: 'dataDir',
    defaultText: '`./data`',
    description: 'Directory for the SQLite database and other local state; created if missing.',
    parse: (raw) => ok(resolve(raw === undefined || raw === '' ? 'data' : asText(raw))),
  },
  database: {
    key: 'database',
    env: 'TENSORIFY_DATABASE_URL',
    fileKey: 'databaseUrl',
    defaultText: '`sqlite:<data dir>/tensorify.db`',
    description: '`postgres://user:pass@host:5432/db` for PostgreSQL, or `sqlite:/path/file.db`.',
    parse: (raw, resolved) => databaseFromUrl(raw, resolved.dataDir ?? resolve('data')),
  },
  redisUrl: {
    key: 'redisUrl',
    env: 'TENSORIFY_REDIS_URL',
    fileKey: 'redisUrl',
    defaultText: 'unset (embedded mode)',
    description:
      'Redis for the distributed mode (`redis://host:6379`): the execution queue (Bull), cancel and live logs across processes, shared rate-limit counters.',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok(null);
      return /^rediss?:\/\/[^\s]+$/.test(asText(raw)) ? ok(asText(raw)) : bad('must be a redis:// or rediss:// URL');
    },
  },
  bootstrapApiKey: {
    key: 'bootstrapApiKey',
    env: 'TENSORIFY_BOOTSTRAP_API_KEY',
    fileKey: 'bootstrapApiKey',
    defaultText: 'unset (a key is generated and printed once)',
    description: 'On first start (empty database), this exact secret becomes the admin key of the `default` workspace.',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok(null);
      return API_KEY_PATTERN.test(asText(raw)) ? ok(asText(raw)) : bad('must be "tfy_" followed by 32 to 128 letters and digits (A-Z, a-z, 0-9)');
    },
  },
  logLevel: {
    key: 'logLevel',
    env: 'TENSORIFY_LOG_LEVEL',
    fileKey: 'logLevel',
    defaultText: '`info`',
    description: `Log level of the JSON logs on stdout: ${LOG_LEVELS.join(', ')}.`,
    parse: (raw) => {
      const text = raw === undefined || raw === '' ? 'info' : asText(raw).trim().toLowerCase();
      return (LOG_LEVELS as readonly string[]).includes(text) ? ok(text as LogLevel) : bad(`must be one of ${LOG_LEVELS.join(', ')}, got ${show(raw as Raw)}`);
    },
  },
  bodyLimitBytes: {
    key: 'bodyLimitBytes',
    env: 'TENSORIFY_BODY_LIMIT',
    fileKey: 'bodyLimit',
    defaultText: '`1mb`',
    description: 'Largest accepted request body; larger bodies get 413 `PAYLOAD_TOO_LARGE`.',
    parse: (raw) => byteSize(raw, 1024 ** 2, 64 * 1024 ** 2),
  },
  trustProxy: {
    key: 'trustProxy',
    env: 'TENSORIFY_TRUST_PROXY',
    fileKey: 'trustProxy',
    defaultText: '`false`',
    description: 'Which reverse proxies to believe for the client IP (`X-Forwarded-For`): `true`, a hop count, or addresses/CIDRs.',
    parse: (raw) => trustProxy(raw),
  },
  enterpriseRateLimitPerMinute: {
    key: 'enterpriseRateLimitPerMinute',
    env: 'TENSORIFY_ENTERPRISE_RATE_LIMIT',
    fileKey: 'enterpriseRateLimitPerMinute',
    defaultText: '1000',
    description: 'Requests per minute of an `enterprise` workspace that has no `rateLimitPerMinute` of its own.',
    parse: (raw) => integer(raw, 1000, 1, 100_000_000),
  },
  authFailuresPerMinute: {
    key: 'authFailuresPerMinute',
    env: 'TENSORIFY_AUTH_FAILURES_PER_MINUTE',
    fileKey: 'authFailuresPerMinute',
    defaultText: '30',
    description: 'Failed authentications allowed per client IP per minute; past that the IP gets 429 until the window ends.',
    parse: (raw) => integer(raw, 30, 1, 1_000_000),
  },
  maxWorkflowNodes: {
    key: 'maxWorkflowNodes',
    env: 'TENSORIFY_MAX_WORKFLOW_NODES',
    fileKey: 'maxWorkflowNodes',
    defaultText: '1000',
    description: 'Most nodes a workflow may have (edges: four times that).',
    parse: (raw) => integer(raw, 1000, 1, 100_000),
  },
  lastUsedFlushSeconds: {
    key: 'lastUsedFlushSeconds',
    env: 'TENSORIFY_LAST_USED_FLUSH_SECONDS',
    fileKey: 'lastUsedFlushSeconds',
    defaultText: '30',
    description: "How often API keys' `lastUsedAt` is written to the database (batched, not one write per request).",
    parse: (raw) => integer(raw, 30, 1, 3600),
  },
  executionConcurrency: {
    key: 'executionConcurrency',
    env: 'TENSORIFY_EXECUTION_CONCURRENCY',
    fileKey: 'executionConcurrency',
    defaultText: '4',
    description: 'Executions this process runs at once; the rest wait `queued`.',
    parse: (raw) => integer(raw, 4, 1, 1024),
  },
  processExecutions: {
    key: 'processExecutions',
    env: 'TENSORIFY_PROCESS_EXECUTIONS',
    fileKey: 'processExecutions',
    defaultText: '`true`',
    description:
      'Whether `start` also runs executions. `false` makes an API-only instance of the distributed mode (workers run them: `tensorify-server worker`).',
    parse: (raw, resolved) => {
      const parsed = boolean(raw, true);
      if ('value' in parsed && !parsed.value && !resolved.redisUrl)
        return bad('false needs TENSORIFY_REDIS_URL: without Redis no other process would run the executions');
      return parsed;
    },
  },
  workerStallSeconds: {
    key: 'workerStallSeconds',
    env: 'TENSORIFY_WORKER_STALL_SECONDS',
    fileKey: 'workerStallSeconds',
    defaultText: '30',
    description:
      'Distributed mode: a running execution whose worker has not sent a heartbeat for this long (it died, or lost Redis and the database) ends `failed` with `WORKER_LOST`.',
    parse: (raw) => integer(raw, 30, 3, 3600),
  },
  retentionIntervalSeconds: {
    key: 'retentionIntervalSeconds',
    env: 'TENSORIFY_RETENTION_INTERVAL_SECONDS',
    fileKey: 'retentionIntervalSeconds',
    defaultText: '3600',
    description:
      "How often finished executions older than their workspace's `retentionDays` are deleted (one process at a time in the distributed mode); `0` turns the job off.",
    parse: (raw) => integer(raw, 3600, 0, 604800),
  },
  maxExecutionSeconds: {
    key: 'maxExecutionSeconds',
    env: 'TENSORIFY_MAX_EXECUTION_SECONDS',
    fileKey: 'maxExecutionSeconds',
    defaultText: '3600',
    description: 'Longest an execution may run: a larger `timeoutSeconds` is refused.',
    parse: (raw) => integer(raw, 3600, 1, 7 * 24 * 3600),
  },
  executionTimeoutSeconds: {
    key: 'executionTimeoutSeconds',
    env: 'TENSORIFY_EXECUTION_TIMEOUT_SECONDS',
    fileKey: 'executionTimeoutSeconds',
    defaultText: '600',
    description: 'Time limit of an execution that sets no `timeoutSeconds` (at most `TENSORIFY_MAX_EXECUTION_SECONDS`).',
    parse: (raw, resolved) => {
      const parsed = integer(raw, Math.min(600, resolved.maxExecutionSeconds ?? 600), 1, 7 * 24 * 3600);
      if ('value' in parsed && resolved.maxExecutionSeconds !== undefined && parsed.value > resolved.maxExecutionSeconds) {
        return bad(`must not exceed TENSORIFY_MAX_EXECUTION_SECONDS (${resolved.maxExecutionSeconds}), got ${show(raw as Raw)}`);
      }
      return parsed;
    },
  },
  executionLogLines: {
    key: 'executionLogLines',
    env: 'TENSORIFY_EXECUTION_LOG_LINES',
    fileKey: 'executionLogLines',
    defaultText: '10000',
    description: 'Log lines kept per execution; past it the run goes on and the last line says the log was cut.',
    parse: (raw) => integer(raw, 10_000, 10, 1_000_000),
  },
  enterpriseConcurrentExecutions: {
    key: 'enterpriseConcurrentExecutions',
    env: 'TENSORIFY_ENTERPRISE_CONCURRENT_EXECUTIONS',
    fileKey: 'enterpriseConcurrentExecutions',
    defaultText: '50',
    description: 'Executions an `enterprise` workspace may have running at once (`free` 2, `pro` 10); the rest wait `queued`.',
    parse: (raw) => integer(raw, 50, 1, 100_000),
  },
  executorPlugins: {
    key: 'executorPlugins',
    env: 'TENSORIFY_EXECUTOR_PLUGINS',
    fileKey: 'executorPlugins',
    defaultText: 'none',
    description: 'More executor plugins to load: package names or paths, comma-separated (a JSON array in the file).',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok([]);
      const list = Array.isArray(raw) ? raw : asText(raw).split(',');
      const names = list.map((item) => String(item).trim()).filter((item) => item !== '');
      return ok(Object.freeze(names));
    },
  },
  nodePacks: {
    key: 'nodePacks',
    env: 'TENSORIFY_NODE_PACKS',
    fileKey: 'nodePacks',
    defaultText: 'none',
    description: 'More node packs to load: package names or paths, comma-separated (a JSON array in the file).',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok([]);
      const list = Array.isArray(raw) ? raw : asText(raw).split(',');
      const names = list.map((item) => String(item).trim()).filter((item) => item !== '');
      return ok(Object.freeze(names));
    },
  },
  executors: {
    key: 'executors',
    env: 'TENSORIFY_EXECUTORS',
    fileKey: 'executors',
    defaultText: '`{}`',
    description: 'Configuration per executor id, e.g. `{"local": {"python": "/usr/bin/python3"}}`: a JSON object (in the file, an object).',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok({});
      let value: unknown = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw);
        } catch {
          return bad('must be a JSON object such as {"local": {"python": "/usr/bin/python3"}}');
        }
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('must be a JSON object keyed by executor id');
      return ok(value as Record<string, unknown>);
    },
  },
  secretsKey: {
    key: 'secretsKey',
    env: 'TENSORIFY_SECRETS_KEY',
    fileKey: 'secretsKey',
    defaultText: 'unset (generated into `<data dir>/secrets.key`, mode 0600, on first use)',
    description:
      'The key that encrypts webhook secrets at rest: 32 random bytes as base64 (`openssl rand -base64 32`) or 64 hex digits. Required in the distributed mode: every instance must have the same.',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok(null);
      const text = asText(raw).trim();
      const key = /^[0-9a-f]{64}$/i.test(text) ? Buffer.from(text, 'hex') : /^[A-Za-z0-9+/]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : null;
      return key?.length === 32 ? ok(key) : bad('must be 32 bytes as base64 (openssl rand -base64 32) or as 64 hex digits');
    },
  },
  callbackAllowPrivate: {
    key: 'callbackAllowPrivate',
    env: 'TENSORIFY_CALLBACK_ALLOW_PRIVATE',
    fileKey: 'callbackAllowPrivate',
    defaultText: '`false`',
    description:
      'Let `callbackUrl` point at loopback, private, link-local and metadata addresses. Off, such a URL is refused with 400 at execute and again when the callback connects.',
    parse: (raw) => boolean(raw, false),
  },
  publicUrl: {
    key: 'publicUrl',
    env: 'TENSORIFY_PUBLIC_URL',
    fileKey: 'publicUrl',
    defaultText: "unset (the request's own scheme and host)",
    description: 'The base URL clients reach this server at (`https://tensorify.example.com`), for the webhook URLs it hands out.',
    parse: (raw) => {
      if (raw === undefined || raw === '') return ok(null);
      const text = asText(raw).trim();
      try {
        const url = new URL(text);
        if ((url.protocol === 'http:' || url.protocol === 'https:') && !url.search && !url.hash && !url.username && !url.password) {
          return ok(`${url.origin}${url.pathname.replace(/\/+$/, '')}`);
        }
      } catch {
        // refused below
      }
      return bad(`must be an http:// or https:// URL without query, fragment or credentials, got ${show(raw)}`);
    },
  },
  configFile: {
    key: 'configFile',
    env: 'TENSORIFY_CONFIG',
    fileKey: '',
    defaultText: 'unset',
    description: 'Path of an optional JSON file holding any of these settings by their file key; environment variables win.',
    parse: (raw) => ok(raw === undefined || raw === '' ? null : resolve(asText(raw))),
  },
};

/** Settings in the order they are documented and resolved (`dataDir` before `database`). */
export const CONFIG_SETTINGS = Object.values(SETTINGS) as Setting<keyof AppConfig>[];

/** File keys whose value may be an object or array. */
const STRUCTURED_FILE_KEYS = new Set(['executors', 'executorPlugins', 'nodePacks']);

function readConfigFile(path: string, problems: string[]): Record<string, Raw> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'the file does not exist' : (error as Error).message;
    problems.push(`TENSORIFY_CONFIG: cannot read ${path}: ${reason}`);
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    problems.push(`TENSORIFY_CONFIG: ${path} must hold a JSON object`);
    return {};
  }
  const known = new Map(CONFIG_SETTINGS.filter((s) => s.fileKey).map((s) => [s.fileKey, s]));
  const values: Record<string, Raw> = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!known.has(key)) {
      problems.push(`TENSORIFY_CONFIG: unknown key "${key}" in ${path} (known: ${[...known.keys()].join(', ')})`);
    } else if (!['string', 'number', 'boolean'].includes(typeof value) && !STRUCTURED_FILE_KEYS.has(key)) {
      problems.push(`TENSORIFY_CONFIG: "${key}" in ${path} must be a string, number or boolean`);
    } else {
      values[known.get(key)!.env] = value as Raw;
    }
  }
  return values;
}

/** Variables the first-party executor plugins read themselves (not settings of the server's config). */
const PLUGIN_VARIABLES = ['TENSORIFY_LOCAL_WARM', 'TENSORIFY_LOCAL_MEMORY_LIMIT_MB'];

/** TENSORIFY_* variables that name no setting: likely typos, reported as warnings at boot. */
export function unknownSettingVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set([...CONFIG_SETTINGS.map((s) => s.env), ...PLUGIN_VARIABLES]);
  return Object.keys(env).filter((name) => name.startsWith('TENSORIFY_') && !known.has(name));
}

/**
 * Builds the one frozen config from environment variables (and the optional TENSORIFY_CONFIG
 * file). Every bad value is collected, then thrown together as a ConfigError naming each variable.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const problems: string[] = [];
  const configPath = env.TENSORIFY_CONFIG ? resolve(env.TENSORIFY_CONFIG) : null;
  const fromFile = configPath ? readConfigFile(configPath, problems) : {};
  const resolved: Partial<Record<keyof AppConfig, unknown>> = {};
  for (const setting of CONFIG_SETTINGS) {
    const envValue = env[setting.env];
    const raw = envValue !== undefined && envValue !== '' ? envValue : fromFile[setting.env];
    const parsed = setting.parse(raw, resolved as Partial<AppConfig>);
    if ('problem' in parsed) problems.push(`${setting.env}: ${parsed.problem}`);
    else resolved[setting.key] = parsed.value;
  }
  if (problems.length > 0) throw new ConfigError(problems);
  for (const value of Object.values(resolved)) if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) Object.freeze(value);
  return Object.freeze(resolved as unknown as AppConfig);
}
