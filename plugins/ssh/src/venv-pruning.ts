import { type CacheEntry, type CacheLimits, CachePruner, type CachePruning, type PluginLogger } from '@tensorify/executor-sdk';
import { shellQuote } from '@tensorify/executor-sdk/ssh';
import { withoutHostPrefix } from './config';
import type { HostState } from './hosts';
import { PRUNE_PROGRAM } from './python-programs';

/** How often the hosts' venvs are pruned; the first pruning comes this long after boot too (not in the way of the first runs). */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_PRUNE_DELAY_MS = 60_000;
/** How long one command of a host's pruning may take once connected (listing walks the venvs to size them). */
const PRUNE_TIMEOUT_MS = 300_000;

/** The venv dir of a host, as the supervisor gets it (relative paths from the login directory). */
export function hostVenvDir(host: HostState): string {
  return `${host.config.workDir}/venvs`;
}

export interface HostVenvPrunerOptions {
  hosts: readonly HostState[];
  limits: CacheLimits;
  logger: PluginLogger;
  intervalMs?: number;
  firstDelayMs?: number;
}

/**
 * Prunes the venvs of every host, each by the `cache` limits and on its own schedule (one
 * {@link CachePruner} per host): python/prune.py, one SSH command, lists a host's venvs with their
 * size, last use and whether a run in flight on the host (of any server) uses them; this side
 * chooses; prune.py, one command per venv chosen, deletes it if it is still unused. A host that is
 * down is skipped, one that fails is skipped with a warning, until the next time.
 */
export class HostVenvPruner {
  private readonly pruners: Map<string, CachePruner<CacheEntry>>;

  constructor(private readonly options: HostVenvPrunerOptions) {
    this.pruners = new Map(
      options.hosts.map((host) => [
        host.name,
        new CachePruner<CacheEntry>({
          limits: options.limits,
          list: async () => (host.down ? [] : ((await runPruneProgram(host, { venvDir: hostVenvDir(host) })) as { venvs: CacheEntry[] }).venvs),
          remove: async (entry) => ((await runPruneProgram(host, { venvDir: hostVenvDir(host), delete: entry.key })) as { deleted: boolean }).deleted,
          pruned: (entry, description) =>
            options.logger.info(`ssh executor: pruned the virtualenv ${description} on ${host.name}`, {
              host: host.name,
              reason: entry.reason,
              bytes: entry.sizeBytes,
            }),
          onError: (error) =>
            options.logger.warn(`ssh executor: cannot prune the virtualenvs of ${host.name}: ${withoutHostPrefix((error as Error).message)}`, {
              host: host.name,
            }),
          intervalMs: options.intervalMs ?? PRUNE_INTERVAL_MS,
          firstDelayMs: options.firstDelayMs ?? FIRST_PRUNE_DELAY_MS,
        }),
      ]),
    );
  }

  /** Prunes after the first delay, then every interval; nothing when the cache has no limits. */
  start(): void {
    for (const pruner of this.pruners.values()) pruner.start();
  }

  async close(): Promise<void> {
    await Promise.all([...this.pruners.values()].map((pruner) => pruner.close()));
  }

  /** Prunes every host now (with the configured limits unless told others): the venvs deleted, by host name (a host that failed is left out, with a warning). */
  async prune(limits: CacheLimits = this.options.limits): Promise<Map<string, CachePruning[]>> {
    const pruned = new Map<string, CachePruning[]>();
    await Promise.all(
      this.options.hosts.map(async (host) => {
        if (host.down) return;
        try {
          pruned.set(host.name, await this.pruners.get(host.name)!.prune(limits));
        } catch (error) {
          this.options.logger.warn(`ssh executor: cannot prune the virtualenvs of ${host.name}: ${withoutHostPrefix((error as Error).message)}`, {
            host: host.name,
          });
        }
      }),
    );
    return pruned;
  }
}

/** Runs prune.py on the host with this request and resolves with its answer (its last line of output, JSON). */
async function runPruneProgram(host: HostState, request: { venvDir: string; delete?: string }): Promise<unknown> {
  const connection = await host.connection();
  let reusable = false;
  try {
    const program = `exec(bytes.fromhex("${Buffer.from(PRUNE_PROGRAM).toString('hex')}"))`;
    const command = `${shellQuote(host.config.python)} -I -c ${shellQuote(program)} ${shellQuote(JSON.stringify(request))}`;
    const result = await connection.run(command, PRUNE_TIMEOUT_MS);
    reusable = true;
    const last = result.stdout.trim().split('\n').pop() ?? '';
    try {
      if (result.code !== 0) throw new Error('failed');
      return JSON.parse(last) as unknown;
    } catch {
      throw new Error(`the pruning program ended with code ${result.code}: ${(result.stderr || result.stdout).trim().slice(-300)}`);
    }
  } finally {
    host.release(connection, reusable);
  }
}
