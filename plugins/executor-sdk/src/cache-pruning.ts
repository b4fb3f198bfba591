/** One artefact of an executor's cache (a virtualenv, an image), as {@link cacheEntriesToPrune} weighs it. */
export interface CacheEntry {
  /** What names it: a requirements hash, an image tag. */
  key: string;
  /** Its size on disk. */
  sizeBytes: number;
  /** When a run last used it (or it was built), milliseconds since the epoch. */
  lastUsedAt: number;
  /** Being built, or used by a run or a warm process: never deleted (its size still counts). */
  inUse: boolean;
}

/** The limits of a cache in bytes and milliseconds; null: no limit. */
export interface CacheLimits {
  maxBytes: number | null;
  maxAgeMs: number | null;
}

/** An entry to delete, and why: unused for longer than the age limit, or the least recently used while the cache is over its size. */
export interface CachePruning extends CacheEntry {
  reason: 'age' | 'size';
}

/**
 * Which entries of a cache to delete: every entry not in use whose last use is older than
 * `maxAgeMs`, then, while the entries left weigh more than `maxBytes`, the least recently used
 * entry not in use. Entries in use are never chosen but their size counts, so a cache whose
 * entries in use alone exceed the limit keeps only those. The entries chosen keep their other fields.
 *
 * @example
 * ```ts
 * const doomed = cacheEntriesToPrune(await listVenvs(), resolveCacheLimits(config.cache));
 * for (const entry of doomed) await deleteVenv(entry.key); // each with its reason: 'age' or 'size'
 * ```
 */
export function cacheEntriesToPrune<E extends CacheEntry>(entries: readonly E[], limits: CacheLimits, now: number = Date.now()): (E & CachePruning)[] {
  const chosen: (E & CachePruning)[] = [];
  const kept: E[] = [];
  for (const entry of entries) {
    if (!entry.inUse && limits.maxAgeMs !== null && now - entry.lastUsedAt > limits.maxAgeMs) chosen.push({ ...entry, reason: 'age' });
    else kept.push(entry);
  }
  if (limits.maxBytes === null) return chosen;
  let total = kept.reduce((sum, entry) => sum + entry.sizeBytes, 0);
  const leastRecentFirst = kept.filter((entry) => !entry.inUse).sort((a, b) => a.lastUsedAt - b.lastUsedAt || a.key.localeCompare(b.key));
  for (const entry of leastRecentFirst) {
    if (total <= limits.maxBytes) break;
    chosen.push({ ...entry, reason: 'size' });
    total -= entry.sizeBytes;
  }
  return chosen;
}

/** The `cache` setting of an executor's configuration: `{maxSizeGb, maxAgeDays}`, 0 or null meaning no limit. */
export interface CacheConfig {
  maxSizeGb?: number | null;
  maxAgeDays?: number | null;
}

const GIB = 2 ** 30;
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * JSON Schema (draft-07) of the `cache` setting, with the executor's defaults and its own words
 * for what the cache holds.
 *
 * @example
 * ```ts
 * properties: { cache: cacheConfigSchema({ maxSizeGb: 20, maxAgeDays: 30 }, 'the virtualenvs under venvDir') }
 * ```
 */
export function cacheConfigSchema(defaults: { maxSizeGb: number | null; maxAgeDays: number | null }, what: string) {
  return {
    type: 'object',
    additionalProperties: false,
    default: {},
    description: `Pruning of ${what}: the least recently used go beyond maxSizeGb, and any unused for maxAgeDays; one in use is never deleted. 0 or null: no limit.`,
    properties: {
      maxSizeGb: {
        type: ['number', 'null'],
        minimum: 0,
        default: defaults.maxSizeGb,
        description: `The most the cache may hold, in GiB (2^30 bytes); default ${defaults.maxSizeGb ?? 'no limit'}.`,
      },
      maxAgeDays: {
        type: ['number', 'null'],
        minimum: 0,
        default: defaults.maxAgeDays,
        description: `An entry unused for this many days is deleted; default ${defaults.maxAgeDays ?? 'no limit'}.`,
      },
    },
  } as const;
}

/** The limits of a `cache` setting (absent fields take `defaults`; 0 and null mean no limit). */
export function resolveCacheLimits(config: CacheConfig | undefined, defaults: { maxSizeGb: number | null; maxAgeDays: number | null }): CacheLimits {
  const size = config?.maxSizeGb === undefined ? defaults.maxSizeGb : config.maxSizeGb;
  const age = config?.maxAgeDays === undefined ? defaults.maxAgeDays : config.maxAgeDays;
  return {
    maxBytes: size ? Math.round(size * GIB) : null,
    maxAgeMs: age ? age * DAY_MS : null,
  };
}

/** The log line of one deletion: what, how big, and why. */
export function describeCachePruning(entry: CachePruning, limits: CacheLimits, now: number = Date.now()): string {
  const idleDays = ((now - entry.lastUsedAt) / DAY_MS).toFixed(1);
  const why =
    entry.reason === 'age'
      ? `unused for ${idleDays} days (limit ${(limits.maxAgeMs ?? 0) / DAY_MS})`
      : `least recently used (${idleDays} days ago) while the cache is over ${((limits.maxBytes ?? 0) / GIB).toFixed(2)} GiB`;
  return `${entry.key}: ${(entry.sizeBytes / 2 ** 20).toFixed(1)} MiB, ${why}`;
}

/**
 * Runs a cache's pruning once soon after start, then every `intervalMs` on an unref'd timer (it
 * never keeps the process alive), and again on {@link request} (after a build). One pruning at a
 * time: a request during one runs another once it ends. `prune` should not reject; if it does,
 * `onError` hears of it.
 */
export class CachePruneSchedule {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(
    private readonly prune: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Prunes now (in the background) and every `intervalMs`. */
  start(): void {
    if (this.closed || this.timer) return;
    this.timer = setInterval(() => void this.request(), this.intervalMs);
    this.timer.unref();
    void this.request();
  }

  /** Prunes as soon as the pruning under way (if any) has ended; resolves when that pruning has. */
  request(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.prune();
        } catch (error) {
          this.onError(error);
        }
      } while (this.again && !this.closed);
      this.running = undefined;
    })();
    return this.running;
  }

  /** Stops the timer and waits for the pruning under way. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.running;
  }
}

/**
 * What a {@link CachePruner} needs to know of one cache.
 *
 * @typeParam E - The plugin's entry: a {@link CacheEntry} with whatever else deleting it needs
 *   (a directory, an image id).
 */
export interface CachePrunerOptions<E extends CacheEntry> {
  /** The cache's limits, as {@link resolveCacheLimits} gives them. With neither limit the pruner never runs on its own. */
  limits: CacheLimits;
  /**
   * Lists the cache's entries with their size, last use and whether they are in use now. It may
   * tidy up what it meets on the way (the leftovers of a build that crashed).
   */
  list(): Promise<readonly E[]>;
  /**
   * Deletes one chosen entry unless it turned out to be in use meanwhile (taken by a run since it
   * was listed); resolves with whether it did. Rejecting ends the pruning (see `onError`).
   */
  remove(entry: E & CachePruning): Promise<boolean>;
  /** Hears of each deletion, with its log line from {@link describeCachePruning}: where to log it, and with what. */
  pruned(entry: E & CachePruning, description: string): void;
  /** Hears why a pruning that ran on its own (at start, on the timer, on request) failed; the next one runs as planned. */
  onError(error: unknown): void;
  /** Milliseconds between prunings. */
  intervalMs: number;
  /** Milliseconds from {@link CachePruner.start} to the first pruning; default 0 (at once, in the background). */
  firstDelayMs?: number;
}

/**
 * Prunes one cache by its limits: lists it (the plugin's `list`), chooses with
 * {@link cacheEntriesToPrune}, deletes each chosen entry (the plugin's `remove`) and reports each
 * deletion with {@link describeCachePruning}. It runs after `firstDelayMs` from {@link start}, then
 * every `intervalMs` and on {@link request}, one pruning at a time (a {@link CachePruneSchedule}),
 * and not at all when the cache has no limits. A plugin writes only how it lists, sizes and deletes
 * its entries.
 *
 * @typeParam E - The plugin's entry (see {@link CachePrunerOptions}).
 *
 * @example
 * ```ts
 * const pruner = new CachePruner({
 *   limits: resolveCacheLimits(config.cache, { maxSizeGb: 20, maxAgeDays: 30 }),
 *   list: () => listVenvs(dir), // [{ key, sizeBytes, lastUsedAt, inUse, path }]
 *   remove: (venv) => deleteVenvUnlessUsed(venv.path),
 *   pruned: (venv, description) => host.logger.info(`pruned the virtualenv ${description}`, { reason: venv.reason }),
 *   onError: (error) => host.logger.warn('pruning the virtualenvs failed', { error: String(error) }),
 *   intervalMs: 60 * 60 * 1000,
 * });
 * pruner.start(); // and pruner.request() after each new venv, await pruner.close() in the executor's close()
 * ```
 */
export class CachePruner<E extends CacheEntry> {
  private readonly schedule: CachePruneSchedule;
  private delay?: NodeJS.Timeout;

  constructor(private readonly options: CachePrunerOptions<E>) {
    this.schedule = new CachePruneSchedule(
      () => this.prune().then(() => undefined),
      options.intervalMs,
      (error) => options.onError(error),
    );
  }

  /** Whether the cache has a limit: without one, {@link start} and {@link request} do nothing. */
  get limited(): boolean {
    return this.options.limits.maxBytes !== null || this.options.limits.maxAgeMs !== null;
  }

  /** Prunes after `firstDelayMs` (in the background), then every `intervalMs`, on an unref'd timer; nothing without limits. */
  start(): void {
    if (!this.limited || this.delay) return;
    if (!this.options.firstDelayMs) {
      this.schedule.start();
      return;
    }
    this.delay = setTimeout(() => this.schedule.start(), this.options.firstDelayMs);
    this.delay.unref();
  }

  /** Prunes again as soon as the pruning under way (if any) has ended, e.g. after a new entry; nothing without limits. Resolves when that pruning has. */
  request(): Promise<void> {
    return this.limited ? this.schedule.request() : Promise.resolve();
  }

  /** Stops the timers and waits for the pruning under way. */
  close(): Promise<void> {
    clearTimeout(this.delay);
    return this.schedule.close();
  }

  /**
   * One pruning now, outside the schedule, by the configured limits unless given others (a test,
   * an operator's command): resolves with the entries deleted, each with its reason; rejects when
   * `list` or `remove` does.
   */
  async prune(limits: CacheLimits = this.options.limits): Promise<(E & CachePruning)[]> {
    const pruned: (E & CachePruning)[] = [];
    for (const entry of cacheEntriesToPrune(await this.options.list(), limits)) {
      if (!(await this.options.remove(entry))) continue;
      this.options.pruned(entry, describeCachePruning(entry, limits));
      pruned.push(entry);
    }
    return pruned;
  }
}
