import { ExecutorUnavailableError, parsePythonProbe, PYTHON_PROBE, type ExecutorCapabilities, type GpuInfo, type PluginLogger } from '@tensorify/executor-sdk';
import { connect, ConnectAborted, shellQuote, type Connection, type ConnectSettings } from '@tensorify/executor-sdk/ssh';
import { withoutHostPrefix, type ResolvedConfig, type ResolvedHost } from './config';
import { Supervisor } from './supervisor';

/** How long a probe's answer (reachability, Python, GPUs) is reused by capabilities(). */
export const PROBE_TTL_MS = 30_000;
/** How long capabilities() waits for the first probe before answering with what it has. */
const FIRST_ANSWER_MS = 2_500;
const NO_HOSTS = 'no hosts are configured (executors.ssh.hosts; see the README of @tensorify/executor-ssh)';
/** A host found down is tried again by runs once its verdict is this old (or a probe finds it up). */
const DOWN_RETRY_MS = 30_000;

/** One host: its health, its free slots, its idle connections. */
export class HostState {
  state: 'unknown' | 'up' | 'down' = 'unknown';
  /** Why it is down (the error of the last connect or probe). */
  reason?: string;
  checkedAt = 0;
  python?: { version: string; executable: string; venvs: boolean };
  gpus: GpuInfo[] = [];
  /** Set when nvidia-smi exists but said something else than GPUs. */
  gpuNote?: string;
  probed = false;
  active = 0;
  private closed = false;
  private readonly idle: { connection: Connection; timer: NodeJS.Timeout }[] = [];

  constructor(
    readonly config: ResolvedHost,
    readonly index: number,
    private readonly settings: Omit<ConnectSettings, 'signal'>,
    private readonly keepMs: number,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Down, recently: runs prefer the other hosts. */
  get down(): boolean {
    return this.state === 'down' && Date.now() - this.checkedAt < DOWN_RETRY_MS;
  }

  get load(): number {
    return this.active / this.config.maxConcurrent;
  }

  markUp(): void {
    this.state = 'up';
    this.reason = undefined;
    this.checkedAt = Date.now();
  }

  markDown(reason: string): void {
    this.state = 'down';
    this.reason = reason;
    this.checkedAt = Date.now();
  }

  /** An idle connection of the pool, or a new one. */
  async connection(signal?: AbortSignal): Promise<Connection> {
    for (;;) {
      const entry = this.idle.pop();
      if (!entry) break;
      clearTimeout(entry.timer);
      if (!entry.connection.closed) return entry.connection;
    }
    return connect(this.config, { ...this.settings, signal });
  }

  /** Gives a connection back: kept (with a supervisor started ahead) for the next run, or closed. */
  release(connection: Connection, reusable: boolean): void {
    if (!reusable || this.closed || connection.closed || this.keepMs <= 0 || this.idle.length >= this.config.maxConcurrent) {
      connection.end();
      return;
    }
    if (!spares.has(connection)) prepare(connection, this.config.python);
    const entry = {
      connection,
      timer: setTimeout(() => {
        const at = this.idle.indexOf(entry);
        if (at >= 0) this.idle.splice(at, 1);
        connection.end();
      }, this.keepMs),
    };
    entry.timer.unref();
    this.idle.push(entry);
    connection.onClose(() => {
      const at = this.idle.indexOf(entry);
      if (at >= 0) {
        clearTimeout(entry.timer);
        this.idle.splice(at, 1);
      }
    });
  }

  /**
   * Connects (or reuses an idle connection) and asks for the Python version and, when nvidia-smi
   * exists, the GPUs. Never rejects: the answer goes into the state.
   */
  async probe(): Promise<void> {
    const timeoutMs = this.settings.connectTimeoutMs;
    let connection: Connection | undefined;
    try {
      connection = await this.connection();
      const command = [
        `${shellQuote(this.config.python)} -c ${shellQuote(PYTHON_PROBE)}`,
        'command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits 2>&1',
        'true',
      ].join('; ');
      const result = await connection.run(command, timeoutMs + 5_000);
      const lines = result.stdout
        .split('\n')
        .map((line) => line.trim())
        .filter(Boolean);
      const pythonLine = lines.find((line) => parsePythonProbe(line));
      const gpus: GpuInfo[] = [];
      const other: string[] = [];
      for (const line of lines) {
        if (line === pythonLine) continue;
        const match = /^(.*\S)\s*,\s*(\d+)$/.exec(line);
        if (match) gpus.push({ model: match[1], vendor: 'NVIDIA', vramMb: Number(match[2]) });
        else other.push(line);
      }
      this.gpus = gpus;
      this.gpuNote = other.length > 0 ? `nvidia-smi: ${other.join(' ').slice(0, 200)}` : undefined;
      this.probed = true;
      if (!pythonLine) {
        const said = result.stderr.trim().split('\n').slice(-2).join(' | ');
        this.python = undefined;
        this.markDown(`the Python interpreter ${this.config.python} cannot run: ${said || 'no answer'}`);
      } else {
        const { version, canCreateVenvs, executable } = parsePythonProbe(pythonLine)!;
        this.python = { version, venvs: canCreateVenvs, executable };
        if (!version.startsWith('3.')) this.markDown(`${this.config.python} is Python ${version}; Python 3 is needed`);
        else this.markUp();
      }
      this.release(connection, true);
    } catch (error) {
      connection?.end();
      this.markDown(withoutHostPrefix((error as Error).message));
    }
  }

  describe(): string {
    const where = `${this.name} (${this.config.user}@${this.config.host}:${this.config.port}${this.config.jump ? ` via ${this.config.jump.host}:${this.config.jump.port}` : ''})`;
    const runs = `${this.active}/${this.config.maxConcurrent} runs`;
    if (this.state === 'down') return `${where}: DOWN, ${this.reason ?? 'unknown reason'}`;
    if (this.state === 'unknown') return `${where}: not checked yet, ${runs}`;
    const python = this.python
      ? `Python ${this.python.version}${this.python.venvs ? '' : ' (no venv module: programs with requirements fail)'}`
      : 'Python not checked';
    const gpus = this.gpus.length > 0 ? this.gpus.map((gpu) => `GPU ${gpu.model} ${gpu.vramMb} MiB`).join(', ') : (this.gpuNote ?? 'no GPU');
    return `${where}: up, ${python}, ${gpus}, ${runs}`;
  }

  close(): void {
    this.closed = true;
    for (const { connection, timer } of this.idle.splice(0)) {
      clearTimeout(timer);
      connection.end();
    }
  }
}

/** Supervisors started ahead on idle connections, for their next run. */
const spares = new WeakMap<Connection, Promise<Supervisor>>();

/** Starts a supervisor on an idle connection for its next run: the run then does not wait for the host's login shell. */
export function prepare(connection: Connection, python: string): void {
  const spare = Supervisor.start(connection, python);
  spare.catch(() => undefined);
  spares.set(connection, spare);
}

/** Keeps a supervisor whose run ended on its own for the connection's next run. */
export function keepSpare(connection: Connection, supervisor: Supervisor): void {
  spares.set(connection, Promise.resolve(supervisor));
}

/** The supervisor started ahead on this connection, if any (taken: the next call finds none). */
export function takeSpare(connection: Connection): Promise<Supervisor> | undefined {
  const spare = spares.get(connection);
  spares.delete(connection);
  return spare;
}

/** A host given to a run: release it exactly once. */
export interface Lease {
  host: HostState;
  connection: Connection;
  release(reusable: boolean): void;
}

/** The hosts of the executor: which one a run goes to, and what capabilities() says. */
export class Hosts {
  readonly hosts: HostState[];
  private waiters = new Set<() => void>();
  private refreshing?: Promise<void>;
  private refreshedAt?: number;
  private closed = false;

  constructor(
    config: ResolvedConfig,
    private readonly logger: PluginLogger,
    onUnknownKeyAccepted: (message: string) => void,
  ) {
    const settings = {
      knownHostsPath: config.knownHostsPath,
      acceptUnknownHostKeys: config.acceptUnknownHostKeys,
      connectTimeoutMs: config.connectTimeoutSeconds * 1000,
      onUnknownKeyAccepted,
    };
    this.hosts = config.hosts.map((host, index) => new HostState(host, index, settings, config.keepConnectionsSeconds * 1000));
  }

  /**
   * A connection to the least busy healthy host (active runs / maxConcurrent; a `gpu` run only to
   * a host whose nvidia-smi listed GPUs; on a tie, a non-GPU run prefers a host without GPUs, then
   * the configuration's order). Waits while every fitting host is full; a host that cannot be
   * reached is marked down and the next one tried. Undefined when the signal aborts first; throws
   * ExecutorUnavailableError when no host can take the run.
   */
  async lease(gpu: boolean, signal: AbortSignal, onWait: (line: string) => void): Promise<Lease | undefined> {
    if (this.hosts.length === 0) throw new ExecutorUnavailableError(`ssh executor: ${NO_HOSTS}`);
    if (gpu && !this.hosts.some((host) => host.probed)) await this.refresh(true);
    const failed = new Set<HostState>();
    let lastError: ExecutorUnavailableError | undefined;
    let announced = false;
    for (;;) {
      if (signal.aborted || this.closed) return undefined;
      const fitting = this.hosts.filter((host) => !failed.has(host) && (!gpu || host.gpus.length > 0));
      if (fitting.length === 0) {
        if (lastError) throw lastError;
        throw new ExecutorUnavailableError(`ssh executor: no host has a GPU for this gpu run: ${this.hosts.map((host) => host.describe()).join('; ')}`);
      }
      const healthy = fitting.filter((host) => !host.down);
      const pool = healthy.length > 0 ? healthy : fitting;
      const free = pool
        .filter((host) => host.active < host.config.maxConcurrent)
        .sort((a, b) => a.load - b.load || a.active - b.active || (gpu ? 0 : a.gpus.length - b.gpus.length) || a.index - b.index);
      const host = free[0];
      if (!host) {
        if (!announced) {
          onWait(
            `every host that fits this run is busy (${pool.map((entry) => `${entry.name} ${entry.active}/${entry.config.maxConcurrent}`).join(', ')}): waiting for a free one`,
          );
          announced = true;
        }
        await this.changed(signal);
        continue;
      }
      host.active += 1;
      let connection: Connection;
      try {
        connection = await host.connection(signal);
      } catch (error) {
        this.free(host);
        if (error instanceof ConnectAborted) return undefined;
        if (!(error instanceof ExecutorUnavailableError)) throw error;
        host.markDown(withoutHostPrefix(error.message));
        this.logger.warn(error.message, { host: host.name });
        failed.add(host);
        lastError = error;
        continue;
      }
      if (host.state !== 'up') host.markUp();
      let released = false;
      return {
        host,
        connection,
        release: (reusable) => {
          if (released) return;
          released = true;
          if (this.closed) connection.end();
          else host.release(connection, reusable);
          this.free(host);
        },
      };
    }
  }

  /** What capabilities() answers: from probes at most PROBE_TTL_MS old, refreshed in the background. */
  async capabilities(): Promise<ExecutorCapabilities> {
    if (this.hosts.length === 0) return { gpu: false, gpus: [], healthy: false, detail: NO_HOSTS };
    const first = this.refreshedAt === undefined;
    const refresh = this.refresh(false);
    if (first) await Promise.race([refresh, new Promise((done) => setTimeout(done, FIRST_ANSWER_MS).unref())]);
    const up = this.hosts.filter((host) => host.state === 'up');
    const gpus = up.flatMap((host) => host.gpus);
    const checking = this.hosts.every((host) => host.state === 'unknown');
    return {
      gpu: gpus.length > 0,
      gpus,
      healthy: up.length > 0,
      detail: `${checking ? 'checking the hosts' : `${up.length}/${this.hosts.length} host(s) up`}: ${this.hosts.map((host) => host.describe()).join('; ')}`,
    };
  }

  /** Probes every host unless a probe is under way or recent (`force`: unless under way). */
  refresh(force: boolean): Promise<void> {
    const fresh = this.refreshedAt !== undefined && Date.now() - this.refreshedAt < PROBE_TTL_MS;
    if (this.refreshing) return this.refreshing;
    if (fresh && !force) return Promise.resolve();
    const refreshing = Promise.all(this.hosts.map((host) => host.probe())).then(() => {
      this.refreshedAt = Date.now();
      this.refreshing = undefined;
      this.notify();
    });
    this.refreshing = refreshing;
    return refreshing;
  }

  close(): void {
    this.closed = true;
    this.notify();
    for (const host of this.hosts) host.close();
  }

  private free(host: HostState): void {
    host.active -= 1;
    this.notify();
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next release or health change, or when the signal aborts. */
  private changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.waiters.delete(wake);
        signal.removeEventListener('abort', wake);
        resolve();
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
      // Down hosts come back on their own: look again now and then.
      setTimeout(wake, DOWN_RETRY_MS).unref();
    });
  }
}
