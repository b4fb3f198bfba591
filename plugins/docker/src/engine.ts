import type Docker from 'dockerode';
import { ExecutorUnavailableError } from '@tensorify/executor-sdk';
import type { ResolvedConfig } from './config';

/**
 * The dockerode client for the configured engine: socketPath, host and port, else dockerode's
 * defaults (DOCKER_HOST…). dockerode is required on the client's first use, not at create():
 * requiring it loads gRPC and protobufjs (some 130 ms of CPU), which a server's boot should not
 * wait for when no run has asked for Docker yet. The client stands in for the real one, which it
 * makes on first touch and hands every property of (methods bound to it).
 */
export function dockerClient(config: ResolvedConfig): Docker {
  let client: Docker | undefined;
  const real = (): Docker => (client ??= newClient(config));
  return new Proxy({} as Docker, {
    get(_target, name) {
      const target = real();
      const value: unknown = Reflect.get(target, name, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    has: (_target, name) => Reflect.has(real(), name),
  });
}

function newClient(config: ResolvedConfig): Docker {
  // A require, not an import: see dockerClient.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const DockerClient = require('dockerode') as typeof Docker;
  // Explicit settings replace all of dockerode's defaults from DOCKER_HOST (which would otherwise win over socketPath).
  const none = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined };
  if (config.socketPath !== undefined) return new DockerClient({ ...none, socketPath: config.socketPath });
  if (config.host !== undefined) return new DockerClient({ ...none, host: config.host, port: config.port, protocol: 'http' });
  return new DockerClient();
}

interface ModemInternals {
  host?: string;
  port?: string | number;
  protocol?: string;
  socketPath?: unknown;
  getSocketPath?(): Promise<string> | undefined;
}

/** Where the engine is, for messages: `unix:///var/run/docker.sock`, `http://10.0.0.5:2375`. */
export async function describeEndpoint(docker: Docker): Promise<string> {
  const modem = docker.modem as unknown as ModemInternals;
  if (modem.host) return `${modem.protocol ?? 'http'}://${modem.host}${modem.port ? `:${modem.port}` : ''}`;
  try {
    const socketPath = await modem.getSocketPath?.();
    if (typeof socketPath === 'string') return `unix://${socketPath}`;
  } catch {
    // fall through
  }
  return typeof modem.socketPath === 'string' ? `unix://${modem.socketPath}` : 'the default socket';
}

/** An engine call that did not answer in time. */
export class EngineTimeoutError extends Error {
  override readonly name = 'EngineTimeoutError';
  readonly code = 'ETIMEDOUT';
}

/**
 * Runs one engine call with a time limit: the call gets an AbortSignal (pass it as dockerode's
 * `abortSignal`) that aborts only if the call has not settled in time, so a stream it returns
 * stays open afterwards. Rejects with {@link EngineTimeoutError} at the limit, even if the call
 * ignores its signal.
 */
export function withTimeout<T>(ms: number, what: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      controller.abort();
      reject(new EngineTimeoutError(`${what}: no answer within ${ms / 1000} s`));
    }, ms);
    call(controller.signal).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passes the call's own rejection on unchanged
        reject(error);
      },
    );
  });
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ENOENT',
  'EACCES',
  'EPERM',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOTSOCK',
  'ENOTCONN',
  'ERR_SOCKET_CLOSED',
]);

/** Whether an error says the engine cannot be reached (no HTTP answer at all), rather than an answer refusing something. */
export function isConnectionError(error: unknown): boolean {
  // Duck-typed: errors made by Node's core may come from another realm (instanceof Error fails under jest).
  if (typeof error !== 'object' || error === null) return false;
  if ((error as { statusCode?: unknown }).statusCode !== undefined) return false;
  if (error instanceof EngineTimeoutError) return true;
  const { code, syscall } = error as NodeJS.ErrnoException;
  // ENOENT, EACCES and EPERM speak of the socket only when connecting to it (not of a file read meanwhile).
  if ((code === 'ENOENT' || code === 'EACCES' || code === 'EPERM') && syscall !== 'connect') return false;
  return (code !== undefined && CONNECTION_CODES.has(code)) || /socket hang up/i.test(messageOf(error));
}

/**
 * Whether failing to reach the engine only means that Docker is not there and nobody asked for it:
 * neither socketPath nor host is configured, DOCKER_HOST is unset, and nothing listens at the
 * default socket (it is missing or refuses connections). Not worth a warning at every start.
 */
export function engineAbsentAndUnconfigured(config: Pick<ResolvedConfig, 'socketPath' | 'host'>, env: NodeJS.ProcessEnv, error: unknown): boolean {
  if (config.socketPath !== undefined || config.host !== undefined || env.DOCKER_HOST) return false;
  if (typeof error !== 'object' || error === null) return false;
  const { code, syscall } = error as NodeJS.ErrnoException;
  return syscall === 'connect' && (code === 'ENOENT' || code === 'ECONNREFUSED');
}

/** An error's message (duck-typed, see isConnectionError). */
export function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null | undefined)?.message;
  return typeof message === 'string' ? message : String(error);
}

/** The HTTP status of an engine answer, or undefined. */
export function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The engine's own message of a refused call (`No such image: …`) rather than dockerode's wrapping. */
export function engineMessage(error: unknown): string {
  const json = (error as { json?: unknown } | undefined)?.json;
  if (json && typeof json === 'object' && typeof (json as { message?: unknown }).message === 'string') return (json as { message: string }).message.trim();
  if (typeof json === 'string' && json.trim()) return json.trim();
  if (Buffer.isBuffer(json) && json.length > 0) return json.toString('utf8').trim();
  // dockerode's own prefix, "(HTTP code 500) server error - ", says nothing the engine's text does not.
  return messageOf(error)
    .replace(/^\(HTTP code \d+\) [^-]*- /, '')
    .trim();
}

/** ExecutorUnavailableError for an engine that cannot be reached; other errors unchanged. */
export function unreachable(error: unknown, endpoint: string): unknown {
  if (!isConnectionError(error)) return error;
  return new ExecutorUnavailableError(`docker executor: cannot reach the Docker engine at ${endpoint}: ${messageOf(error)}`);
}

/** Calls a dockerode method that takes `abortSignal` in its options at run time, which its types do not declare. */
export function callWithSignal<T>(target: object, method: 'ping' | 'info' | 'version', abortSignal: AbortSignal): Promise<T> {
  const call = (target as Record<string, (options: { abortSignal: AbortSignal }) => Promise<T>>)[method];
  return call.call(target, { abortSignal });
}
