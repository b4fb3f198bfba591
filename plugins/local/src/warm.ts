import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LineSplitter, type PluginLogger } from '@tensorify/executor-sdk';
import { delay, groupAlive, stopGroup, type GroupRunResult } from './process-group';
import { ForkFailedError, Zygote, ZYGOTE_DIED, type ZygoteInfo } from './zygote';

/** How long the output sockets may stay open after the run's group is gone (as for the cold pipes). */
const STREAM_CLOSE_WAIT_MS = 1_000;
/** After a zygote failed to start (or was refused), how long its venv runs cold before another try. */
const RETRY_AFTER_MS = 60_000;

export interface WarmOptions {
  /** At most this many zygotes at once; the least recently used idle one makes room for a new venv. */
  maxZygotes: number;
  /** A zygote unused for this long is stopped. */
  idleMs: number;
  /** A zygote whose resident memory grows past this is stopped, and its venv runs cold. */
  maxMemoryBytes: number;
  /** The zygotes' working directory and HOME (empty). */
  homeDir: string;
  logger: PluginLogger;
}

/** What a warm run needs (the same as a cold one's process). */
export interface ForkSpec {
  cwd: string;
  env: Record<string, string>;
  argv: string[];
  /** The modules the program imports; the zygote imports the ones it lacks before it forks. */
  modules: string[];
  signal: AbortSignal;
  killGraceMs: number;
  maxLineBytes: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  onNotice: (line: string) => void;
  onSpawn: (pid: number) => void;
  /** The fork's memory limit (RLIMIT_DATA, as a cold run's), set in the fork only; none when undefined. */
  memoryLimitBytes?: number;
}

interface RunStreams {
  onLine: ForkSpec['onLine'];
  maxLineBytes: number;
  connected: Set<'stdout' | 'stderr'>;
  /** Resolves once both streams connected. */
  bothConnected: Promise<void>;
  onBothConnected: () => void;
  ended: Promise<void>[];
  sockets: Socket[];
}

/**
 * Read once when Python or a library loads: the interpreter's (PYTHONPATH, PYTHONHASHSEED…), the
 * locale, and the native thread pools' sizes (OpenBLAS, MKL, OpenMP).
 */
const STARTUP_VARIABLE = /^(PYTHON|LC_|LANG$|LANGUAGE$|OMP_|OPENBLAS_|MKL_|GOTO_|VECLIB_|NUMEXPR_)/;

/**
 * The zygote variables a run may differ in: those Python reads once, at startup (PYTHONPATH,
 * PYTHONHASHSEED…), would keep the zygote's value in a forked run, so such a run starts cold.
 */
function startupVariables(env: Record<string, string>): string {
  return JSON.stringify(
    Object.keys(env)
      .filter((name) => STARTUP_VARIABLE.test(name))
      .sort()
      .map((name) => [name, env[name]]),
  );
}

/**
 * The warm zygotes of one local executor, one per interpreter (a venv's `bin/python`, or the
 * configured one), and the Unix socket their forks send their stdout and stderr to.
 */
export class ZygotePool {
  private readonly zygotes = new Map<string, Zygote>();
  /** Interpreters whose zygote failed or was refused, with when to try again. */
  private readonly refused = new Map<string, { until: number; why: string }>();
  private readonly streams = new Map<string, RunStreams>();
  private socket?: Promise<{ server: Server; dir: string; path: string }>;
  private idleTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: WarmOptions) {}

  /** The zygotes, for `capabilities()`. */
  list(): ZygoteInfo[] {
    return [...this.zygotes.values()].filter((zygote) => zygote.state !== 'dead').map((zygote) => zygote.info());
  }

  /**
   * The ready zygote of `python`, or the reason the run starts cold. A missing zygote is started
   * (in the background: this run starts cold).
   */
  pick(python: string, venv: string | null, env: Record<string, string>, zygoteEnv: Record<string, string>, modules: string[]): Zygote | string {
    if (this.closed) return 'the executor is closing';
    const existing = this.zygotes.get(python);
    if (existing && existing.state === 'dead') this.zygotes.delete(python);
    const zygote = this.zygotes.get(python);
    if (zygote?.state === 'ready') {
      const memory = zygote.memoryBytes();
      if (memory !== undefined && memory > this.options.maxMemoryBytes) {
        if (zygote.running === 0) {
          this.retire(
            python,
            zygote,
            `it grew to ${Math.round(memory / 2 ** 20)} MiB, over the ${Math.round(this.options.maxMemoryBytes / 2 ** 20)} MiB limit`,
          );
        }
        return 'the zygote uses more memory than allowed';
      }
      if (zygote.startupEnv !== startupVariables(env))
        return 'the run sets a variable read at startup (PYTHON*, LANG, LC_*, OMP_*…) differently from the zygote';
      return zygote;
    }
    if (zygote) return 'its zygote is starting';
    const refusal = this.refused.get(python);
    if (refusal && refusal.until > Date.now()) return `no zygote for this interpreter (${refusal.why})`;
    this.refused.delete(python);
    if (startupVariables(env) !== startupVariables(zygoteEnv)) return 'the run sets a variable read at startup (PYTHON*, LANG, LC_*, OMP_*…)';
    if (!this.makeRoom()) return `${this.options.maxZygotes} zygotes are busy`;
    this.start(python, venv, zygoteEnv, modules);
    return 'its zygote is starting';
  }

  /** Starts the zygote of an interpreter now (tests, benchmarks) and resolves when it is ready. */
  async prewarm(python: string, venv: string | null, zygoteEnv: Record<string, string>, modules: string[]): Promise<void> {
    let zygote = this.zygotes.get(python);
    if (!zygote || zygote.state === 'dead') {
      this.refused.delete(python);
      if (!this.makeRoom()) throw new Error(`${this.options.maxZygotes} zygotes are busy`);
      zygote = this.start(python, venv, zygoteEnv, modules);
    }
    await zygote.ready;
  }

  private start(python: string, venv: string | null, env: Record<string, string>, modules: string[]): Zygote {
    const zygote = new Zygote(python, venv, startupVariables(env), env, modules, this.options.homeDir, this.options.logger);
    this.zygotes.set(python, zygote);
    zygote.ready.then(
      () => {
        const memory = zygote.memoryBytes();
        if (memory !== undefined && memory > this.options.maxMemoryBytes) {
          this.retire(
            python,
            zygote,
            `its imports take ${Math.round(memory / 2 ** 20)} MiB, over the ${Math.round(this.options.maxMemoryBytes / 2 ** 20)} MiB limit`,
          );
        }
      },
      (error: Error) => {
        this.retire(python, zygote, error.message);
      },
    );
    this.scheduleIdleCheck();
    return zygote;
  }

  private retire(python: string, zygote: Zygote, why: string): void {
    this.options.logger.warn('local executor: a warm zygote was stopped; its runs start cold for a while', { python, why });
    this.refused.set(python, { until: Date.now() + RETRY_AFTER_MS, why });
    zygote.stop();
    if (this.zygotes.get(python) === zygote) this.zygotes.delete(python);
  }

  /** Whether a new zygote may start: below the count, or after stopping the least recently used idle one. */
  private makeRoom(): boolean {
    for (const [key, zygote] of this.zygotes) if (zygote.state === 'dead') this.zygotes.delete(key);
    if (this.zygotes.size < this.options.maxZygotes) return true;
    const idle = [...this.zygotes.entries()].filter(([, zygote]) => zygote.state === 'ready' && zygote.running === 0);
    if (idle.length === 0) return false;
    const [key, oldest] = idle.reduce((a, b) => (a[1].lastUsedAt <= b[1].lastUsedAt ? a : b));
    oldest.stop();
    this.zygotes.delete(key);
    return true;
  }

  private scheduleIdleCheck(): void {
    if (this.idleTimer) return;
    this.idleTimer = setInterval(
      () => {
        const now = Date.now();
        for (const [key, zygote] of this.zygotes) {
          if (zygote.state === 'dead') this.zygotes.delete(key);
          else if (zygote.state === 'ready' && zygote.running === 0 && now - zygote.lastUsedAt >= this.options.idleMs) {
            zygote.stop();
            this.zygotes.delete(key);
          }
        }
        if (this.zygotes.size === 0) {
          clearInterval(this.idleTimer);
          this.idleTimer = undefined;
        }
      },
      Math.max(10, Math.min(this.options.idleMs / 2, 30_000)),
    );
    this.idleTimer.unref();
  }

  /**
   * Runs one program as a fork of `zygote`. Rejects with {@link ForkFailedError} when no fork
   * started (the caller starts the run cold); otherwise resolves as `runInProcessGroup` does, once
   * the fork and its process group are gone.
   */
  async run(zygote: Zygote, spec: ForkSpec): Promise<GroupRunResult> {
    const socket = await this.listen();
    const token = randomBytes(16).toString('hex');
    let onBothConnected!: () => void;
    const bothConnected = new Promise<void>((resolve) => (onBothConnected = resolve));
    const streams: RunStreams = {
      onLine: spec.onLine,
      maxLineBytes: spec.maxLineBytes,
      connected: new Set(),
      bothConnected,
      onBothConnected,
      ended: [],
      sockets: [],
    };
    this.streams.set(token, streams);
    let pid: number;
    try {
      pid = await zygote.fork({
        op: 'fork',
        id: token,
        token,
        socket: socket.path,
        cwd: spec.cwd,
        env: spec.env,
        argv: spec.argv,
        modules: spec.modules,
        memoryLimitKb: spec.memoryLimitBytes === undefined ? null : Math.floor(spec.memoryLimitBytes / 1024),
      });
    } catch (error) {
      this.streams.delete(token);
      throw error instanceof ForkFailedError ? error : new ForkFailedError((error as Error).message);
    }
    spec.onSpawn(pid);
    const exited = zygote.exited(pid);

    let aborted = false;
    let stopping: Promise<void> | undefined;
    const stop = (why: string): Promise<void> => {
      stopping ??= stopGroup(pid, spec.killGraceMs, why, spec.onNotice);
      return stopping;
    };
    const onAbort = (): void => {
      aborted = true;
      void stop(`stopping process group ${pid} (${describeReason(spec.signal.reason)})`);
    };
    if (spec.signal.aborted) onAbort();
    else spec.signal.addEventListener('abort', onAbort, { once: true });

    try {
      const status = await exited;
      spec.signal.removeEventListener('abort', onAbort);
      if (status === ZYGOTE_DIED) {
        spec.onNotice(`the warm zygote died during the run: stopping process group ${pid}; its exit code is lost`);
        await stop(`the zygote of process group ${pid} died`);
      } else if (stopping) await stopping;
      else if (await groupAlive(pid)) await stop(`process ${pid} exited and left processes behind in its group: stopping them`);
      // The group is gone; the sockets close with it unless a process left the group holding them.
      const closed = await Promise.race([this.streamsEnded(streams).then(() => true), delay(STREAM_CLOSE_WAIT_MS).then(() => false)]);
      if (!closed) {
        if (streams.connected.size === 2) {
          spec.onNotice('the output pipes stayed open after the program ended (a process left its group?): no longer reading them');
        } else {
          spec.onNotice(`the warm fork ${pid} ended before its output reached the server (its own error is in the server's log)`);
        }
        for (const s of streams.sockets) s.destroy();
      }
      if (status === ZYGOTE_DIED) return { pid, exitCode: null, exitSignal: null, aborted };
      // The cold path's leader shell turns a death by signal n into 128 + n, unless the group was stopped.
      if (status < 0) {
        return aborted ? { pid, exitCode: null, exitSignal: signalName(-status), aborted } : { pid, exitCode: 128 - status, exitSignal: null, aborted };
      }
      return { pid, exitCode: status, exitSignal: null, aborted };
    } finally {
      this.streams.delete(token);
    }
  }

  private async streamsEnded(streams: RunStreams): Promise<void> {
    // Both sockets connect before the program starts; wait for them to connect, then to end.
    await streams.bothConnected;
    await Promise.all(streams.ended);
  }

  private listen(): Promise<{ server: Server; dir: string; path: string }> {
    this.socket ??= (async () => {
      // A short path (a Unix socket's is limited to about 107 bytes), private to this user.
      const dir = await mkdtemp(path.join(os.tmpdir(), 'tensorify-warm-'));
      const socketPath = path.join(dir, 's');
      const server = createServer((connection) => this.accept(connection));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(socketPath, () => resolve());
      });
      server.unref();
      return { server, dir, path: socketPath };
    })();
    return this.socket;
  }

  /** A fork's stream: first line `<token> stdout|stderr`, then the program's bytes. */
  private accept(connection: Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const newline = head.indexOf(10);
      if (newline < 0) {
        if (head.length > 100) connection.destroy();
        return;
      }
      connection.off('data', onData);
      const [token, stream] = head.subarray(0, newline).toString('latin1').split(' ');
      const run = this.streams.get(token);
      if (!run || (stream !== 'stdout' && stream !== 'stderr') || run.connected.has(stream)) {
        connection.destroy();
        return;
      }
      run.connected.add(stream);
      run.sockets.push(connection);
      const lines = new LineSplitter(run.maxLineBytes, (line) => run.onLine(stream, line));
      run.ended.push(
        new Promise<void>((done) => {
          const finish = (): void => {
            lines.end();
            done();
          };
          connection.once('end', finish);
          connection.once('close', finish);
        }),
      );
      if (run.connected.size === 2) run.onBothConnected();
      const rest = head.subarray(newline + 1);
      if (rest.length > 0) lines.push(rest);
      connection.on('data', (data: Buffer) => lines.push(data));
    };
    connection.on('data', onData);
    connection.on('error', () => undefined);
  }

  /** Stops every zygote (after the last run settled) and removes the socket. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearInterval(this.idleTimer);
    for (const zygote of this.zygotes.values()) zygote.stop();
    this.zygotes.clear();
    if (this.socket) {
      const { server, dir } = await this.socket.catch(() => ({ server: undefined, dir: undefined }));
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      if (dir) await rm(dir, { recursive: true, force: true });
    }
  }

  /** Makes the zygotes' home dir. */
  async prepare(): Promise<void> {
    await mkdir(this.options.homeDir, { recursive: true, mode: 0o700 });
  }
}

function signalName(n: number): NodeJS.Signals | null {
  const entry = Object.entries(os.constants.signals).find(([, value]) => value === n);
  return entry ? (entry[0] as NodeJS.Signals) : null;
}

function describeReason(reason: unknown): string {
  if (reason === 'cancelled') return 'the run was cancelled';
  if (reason === 'timed_out') return 'the run timed out';
  if (reason === 'shutdown') return 'the server is shutting down';
  return 'the run was aborted';
}

/**
 * The modules a program imports at its top level (`import a.b`, `from a.b import c`), which the
 * zygote imports ahead: the compiler puts every import of the generated program there
 * (`python-imports.ts`). The program's own files (`utils`, `main`) are left out: they are the
 * run's, never the zygote's.
 */
export function programModules(files: Readonly<Record<string, string | undefined>>, own: readonly string[]): string[] {
  const names = new Set<string>();
  const ownNames = new Set(own.map((file) => file.replace(/\.py$/, '')));
  for (const name of ['main.py', 'utils.py']) {
    const text = files[name] ?? '';
    for (const match of text.matchAll(/^(?:import\s+([\w.]+(?:\s*,\s*[\w.]+)*)|from\s+([\w.]+)\s+import\b)/gm)) {
      const list = match[1] ? match[1].split(',').map((part) => part.trim()) : [match[2]];
      for (const module of list) {
        if (!module || module.startsWith('.') || ownNames.has(module.split('.')[0]) || module === '__future__') continue;
        names.add(module);
      }
    }
  }
  return [...names].sort();
}
