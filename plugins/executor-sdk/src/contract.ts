/** The contract's types and constants; `index.ts` re-exports them (see its documentation). */
/** The version of this contract. A manifest declaring another `executorApiVersion` is refused before its code loads. */
export const EXECUTOR_API_VERSION = 1;

/** The `package.json` field that makes a package an executor plugin. */
export const MANIFEST_FIELD = 'tensorify';

/** The npm keyword plugin packages carry, so they can be found on the registry. */
export const PLUGIN_KEYWORD = 'tensorify-executor';

/**
 * The manifest: `package.json` → `"tensorify": { "executorApiVersion": 1, "executors": [{ "id": "ssh", "entry": "dist/index.js" }] }`.
 */
export interface PluginManifest {
  /** The contract version the plugin was written against; must equal {@link EXECUTOR_API_VERSION}. */
  executorApiVersion: number;
  /** The executors the package provides: an id (`^[a-z][a-z0-9-]{0,31}$`, unique on the server) and the module exporting it, relative to the package. */
  executors: { id: string; entry: string }[];
}

/** The three files of a compiled workflow, exactly as `POST /v1/workflows/:id/export` returns them. */
export type ProgramFiles = {
  'main.py': string;
  'utils.py': string;
  'requirements.txt': string;
};

/** One run of a compiled workflow, as the server hands it to an executor. */
export interface ExecutionJob {
  /** `exec_…`; also in the program's environment as `TENSORIFY_EXECUTION_ID`. */
  executionId: string;
  workflowId: string;
  workflowVersion: number;
  /** The program to run. Write them into a fresh directory and run `python main.py`. */
  files: ProgramFiles;
  /** The execute request's inputs: pass them as `TENSORIFY_INPUTS` (JSON) or with `--inputs FILE`. */
  inputs: Record<string, unknown>;
  /**
   * Variables the program must see, besides the executor's own (`TENSORIFY_EXECUTION_ID`,
   * `TENSORIFY_DEVICE`…). Never pass the server's own environment through.
   */
  env: Record<string, string>;
  /** Whether the run asked for a GPU: set `TENSORIFY_DEVICE=cuda` and give the process a GPU. */
  gpu: boolean;
  /** The run's time limit. The server aborts `context.signal` when it passes; the executor need not time it itself. */
  timeoutMs: number;
}

/** Where a log line came from: the program's stdout or stderr, or the executor itself (setup, pip). */
export type LogStream = 'stdout' | 'stderr' | 'system';

/** Why `context.signal` was aborted: its `reason` is one of these. */
export type AbortReason = 'cancelled' | 'timed_out' | 'shutdown';

/** A logger for the plugin's own diagnostics (the server's log, not the execution's). */
export interface PluginLogger {
  debug(message: string, details?: Record<string, unknown>): void;
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

/** What the server gives `run` besides the job. */
export interface ExecutionContext {
  /**
   * Aborted when the run is cancelled, times out or the server shuts down (`signal.reason` is an
   * {@link AbortReason}). Stop the program and its whole process tree, then resolve: the server
   * reports the run cancelled only once `run` has returned.
   */
  signal: AbortSignal;
  /** Appends one line (no trailing newline) to the execution's logs, in order. The server caps the lines kept. */
  log(stream: LogStream, line: string): void;
  /**
   * Records where the run lives (a pid, a container id, `host:pid`) as soon as it is known: the
   * server stores it at once and shows it as the execution's `externalId`, so an operator can find
   * a run while it runs. `ExecutionResult.externalId`, when given, replaces it at the end.
   */
  setExternalId(id: string): void;
  /**
   * For executors that declare {@link Executor.reportsStart}: the program has started (the
   * scheduler gave it its resources). Until then the execution shows `queued` (with its
   * `externalId`) and its time limit has not begun; from this call on it is `running`, and its
   * time limit counts from now. Calling it again does nothing; other executors need not call it
   * (the server treats the run as started when `run` is called). Optional in the type only so
   * that contexts made by hand (tests) need not have it: the server always gives it; call it as
   * `context.started?.()`.
   */
  started?(): void;
}

/**
 * What the server gives {@link Executor.resume} besides the job: the context of `run`, and what
 * the execution's log already holds, so the executor can skip what it streamed before.
 */
export interface ResumeContext extends ExecutionContext {
  /** The `externalId` the run recorded with `setExternalId` (e.g. a Slurm job id). */
  externalId: string;
  /** Whether `started()` was reported before the restart (the execution was `running`). */
  wasStarted: boolean;
  /** How many lines of each stream the execution's stored log holds already. */
  logged: Record<LogStream, number>;
}

/** How `run` ended. A run that could not start (the executor is down) should throw {@link ExecutorUnavailableError}. */
export interface ExecutionResult {
  /** The program's exit code; null when it was killed by a signal. */
  exitCode: number | null;
  /** The program's output JSON (from `TENSORIFY_OUTPUT`), when it wrote one. */
  output?: unknown;
  /** Where it ran: a pid, a container id, `host:pid`. */
  externalId?: string;
  /**
   * Only for an executor with {@link Executor.resume}, when `context.signal` was aborted with
   * `shutdown`: the program was left running (not stopped) and its `externalId` is stored; the
   * server keeps the execution `queued`/`running` and a later server calls `resume` for it.
   */
  detached?: boolean;
}

/** A GPU an executor can give a run. */
export interface GpuInfo {
  model: string;
  vendor?: string;
  /** Memory in MiB. */
  vramMb?: number;
}

/** What an executor can do now; `GET /v1/executors` shows it and `gpu: true` runs are routed by it. */
export interface ExecutorCapabilities {
  gpu: boolean;
  gpus?: GpuInfo[];
  /** Whether it can take runs now (the engine is reachable, a host answers…). Default true. */
  healthy?: boolean;
  /** One line for operators: an interpreter path, a host count, why it is unhealthy. */
  detail?: string;
  /** The processes it keeps warm to start runs faster (the `local` executor's zygotes); `GET /v1/executors` lists them. */
  warm?: WarmProcess[];
}

/** A process an executor keeps warm (imported, waiting) to start runs faster. */
export interface WarmProcess {
  /** What it serves: a venv's hash, an image…; null for the executor's bare interpreter. */
  environment: string | null;
  /** The interpreter or command it is, e.g. a venv's `bin/python`. */
  command: string;
  pid?: number | null;
  state: 'starting' | 'ready';
  /** ISO 8601. */
  startedAt: string;
  /** Runs it started so far. */
  runs: number;
  /** Runs of it still going. */
  running: number;
  /** Resident memory in bytes, when known. */
  memoryBytes?: number | null;
  /** The modules (or layers…) it has loaded. */
  loaded?: string[];
}

/** What the server gives `create`. */
export interface ExecutorHost {
  /** A directory of the server's data dir that belongs to this executor (caches, work dirs). */
  dataDir: string;
  logger: PluginLogger;
}

/** A running executor, made once at boot by {@link ExecutorDefinition.create}. */
export interface Executor {
  capabilities(): Promise<ExecutorCapabilities>;
  /** Runs one job to its end. Resolve after the program and everything it started are gone. */
  run(job: ExecutionJob, context: ExecutionContext): Promise<ExecutionResult>;
  /**
   * Optional: the executor reports when the program starts (`context.started()`), e.g. a batch
   * scheduler whose job may wait for resources first. Until then the execution shows `queued`.
   */
  readonly reportsStart?: boolean;
  /**
   * Optional: follows again a run that outlives the server (a batch job), by the `externalId` it
   * recorded. With it, a run aborted with `shutdown` may return `{ detached: true }` instead of
   * stopping the program, and the next server (or, in the distributed mode, another worker, when
   * the first one died) calls `resume` to follow the run to its end, with the same meaning of
   * `context` and the result as `run`. A run that can no longer be found should throw an Error
   * saying so (the execution fails with it).
   */
  resume?(job: ExecutionJob, context: ResumeContext): Promise<ExecutionResult>;
  /** Called once when the server stops, after the last run settled. */
  close?(): Promise<void>;
}

/** What a plugin's entry module exports. */
export interface ExecutorDefinition<Config = unknown> {
  /** Unique on the server; also the manifest's executor id. `^[a-z][a-z0-9-]{0,31}$`. */
  id: string;
  displayName: string;
  /** The plugin's version (semver), shown in `GET /v1/executors`. */
  version: string;
  /** A JSON Schema (draft-07) object for the plugin's configuration; the server validates the config against it before `create`. */
  configSchema: Record<string, unknown>;
  /** Makes the executor from its validated configuration (the server fills in the schema's defaults). */
  create(config: Config, host: ExecutorHost): Executor | Promise<Executor>;
}

/** Identity function that types a definition: `export default defineExecutor({ … })`. */
export function defineExecutor<Config>(definition: ExecutorDefinition<Config>): ExecutorDefinition<Config> {
  return definition;
}

/** Throw from `run` when the run cannot start because the executor's backend is down; the execution fails with `EXECUTOR_UNAVAILABLE`. */
export class ExecutorUnavailableError extends Error {
  override readonly name = 'ExecutorUnavailableError';
}

/** The names of the {@link ProgramFiles}, in the order the server exports them: write each into the run's directory. */
export const PROGRAM_FILES = ['main.py', 'utils.py', 'requirements.txt'] as const satisfies readonly (keyof ProgramFiles)[];
