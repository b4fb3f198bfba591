import { Injectable, Logger } from '@nestjs/common';
import type { Executor, ExecutorCapabilities, PluginLogger } from '@tensorify/executor-sdk';
import path from 'node:path';
import { type Clock, systemClock } from '../common/clock';
import { PACKAGE_ROOT } from '../common/package-info';
import type { AppConfig } from '../config/config';
import { TimeoutError, withTimeout } from '../common/timeout';
import { errorMessage, formatDuration, loadExecutorPlugins, type LoadedPlugin } from './plugin-loader';

/** A plugin that loaded: its executor is ready to run jobs. */
export type LoadedExecutor = LoadedPlugin & { id: string; executor: Executor };

/** The executor used when a run names none, if it loaded. */
export const DEFAULT_EXECUTOR_ID = 'local';

export interface ExecutorRegistryOptions {
  /** How long an executor's capabilities are reused. */
  capabilitiesTtlMs?: number;
  /** How long `capabilities()` may take before the executor is reported unhealthy. */
  capabilitiesTimeoutMs?: number;
  clock?: Clock;
  /** Where a failing `close()` is reported. */
  logger?: PluginLogger;
}

function isLoaded(plugin: LoadedPlugin): plugin is LoadedExecutor {
  return plugin.executor !== undefined && plugin.id !== null;
}

/** The executor plugins of this server, as loaded at boot: what `GET /v1/executors` lists and what runs are routed to. */
@Injectable()
export class ExecutorRegistry {
  private readonly loaded: ReadonlyMap<string, LoadedExecutor>;
  private readonly cached = new Map<string, { at: number; capabilities: Promise<ExecutorCapabilities> }>();
  private readonly ttlMs: number;
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly logger: PluginLogger;
  private closing?: Promise<void>;

  constructor(
    private readonly plugins: readonly LoadedPlugin[],
    options: ExecutorRegistryOptions = {},
  ) {
    this.loaded = new Map(plugins.filter(isLoaded).map((plugin) => [plugin.id, plugin]));
    this.ttlMs = options.capabilitiesTtlMs ?? 5_000;
    this.timeoutMs = options.capabilitiesTimeoutMs ?? 3_000;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? nestPluginLogger(ExecutorRegistry.name);
  }

  /** Every plugin, loaded or not (those with a `loadError`), in discovery order. */
  list(): readonly LoadedPlugin[] {
    return this.plugins;
  }

  /** The loaded executor with this id; undefined when there is none or it failed to load. */
  get(id: string): LoadedExecutor | undefined {
    return this.loaded.get(id);
  }

  /** The `local` executor when it loaded, else the first that did; undefined when none loaded. */
  default(): LoadedExecutor | undefined {
    return this.loaded.get(DEFAULT_EXECUTOR_ID) ?? this.loaded.values().next().value;
  }

  /**
   * What a loaded executor can do now, reused for a few seconds. Never rejects and never waits
   * longer than the timeout: a plugin that throws or hangs is reported `healthy: false` with the
   * reason in `detail`. Undefined when no executor with this id loaded.
   */
  capabilities(id: string): Promise<ExecutorCapabilities | undefined> {
    const plugin = this.loaded.get(id);
    if (plugin === undefined) return Promise.resolve(undefined);
    const now = this.clock.now();
    const hit = this.cached.get(id);
    if (hit !== undefined && now - hit.at < this.ttlMs) return hit.capabilities;
    const capabilities = this.ask(plugin.executor);
    this.cached.set(id, { at: now, capabilities });
    return capabilities;
  }

  /** Closes every loaded executor, once however often it is called (call it after the last run settled); a failing `close()` is logged, not thrown. */
  closeAll(): Promise<void> {
    this.closing ??= Promise.all(
      [...this.loaded.values()].map(async ({ id, executor }) => {
        try {
          await executor.close?.();
        } catch (error) {
          this.logger.warn(`Executor "${id}" failed to close: ${errorMessage(error)}`, { executor: id });
        }
      }),
    ).then(() => undefined);
    return this.closing;
  }

  private async ask(executor: Executor): Promise<ExecutorCapabilities> {
    const message = `capabilities did not answer within ${formatDuration(this.timeoutMs)}`;
    try {
      const answer = await withTimeout(
        Promise.resolve().then(() => executor.capabilities()),
        this.timeoutMs,
        message,
      );
      if (typeof answer !== 'object' || answer === null || typeof answer.gpu !== 'boolean') {
        return { gpu: false, healthy: false, detail: 'capabilities answered without a boolean "gpu"' };
      }
      return { ...answer, healthy: answer.healthy ?? true };
    } catch (error) {
      const detail = error instanceof TimeoutError ? error.message : `capabilities failed: ${errorMessage(error)}`;
      return { gpu: false, healthy: false, detail };
    }
  }
}

/** A {@link PluginLogger} writing through Nest's logger (pino in the server), details merged into the line. */
export function nestPluginLogger(context: string): PluginLogger {
  const logger = new Logger(context);
  return {
    debug: (message, details) => logger.debug(details ?? {}, message),
    info: (message, details) => logger.log(details ?? {}, message),
    warn: (message, details) => logger.warn(details ?? {}, message),
    error: (message, details) => logger.error(details ?? {}, message),
  };
}

/**
 * Loads the executor plugins the configuration asks for (the first-party `plugins/` folder, the
 * packages installed beside the server, `config.executorPlugins`) and returns their registry.
 * Never fails for a plugin's fault: broken plugins are listed with their `loadError`.
 *
 * @example
 * `{ provide: ExecutorRegistry, inject: [APP_CONFIG], useFactory: (config: AppConfig) => createExecutorRegistry(config) }`
 */
export async function createExecutorRegistry(
  config: Pick<AppConfig, 'dataDir' | 'executorPlugins' | 'executors'>,
  logger: PluginLogger = nestPluginLogger(ExecutorRegistry.name),
): Promise<ExecutorRegistry> {
  const plugins = await loadExecutorPlugins({
    firstPartyDir: path.resolve(PACKAGE_ROOT, 'plugins'),
    nodeModulesDirs: [path.resolve(PACKAGE_ROOT, 'node_modules')],
    extra: config.executorPlugins,
    configs: config.executors,
    dataDir: config.dataDir,
    logger,
  });
  return new ExecutorRegistry(plugins, { logger });
}
