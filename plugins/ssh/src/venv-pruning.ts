import {
  cacheEntriesToPrune,
  type CacheEntry,
  type CacheLimits,
  CachePruneSchedule,
  type CachePruning,
  describeCachePruning,
  type PluginLogger,
} from '@tensorify/executor-sdk';
import type { ClientChannel } from 'ssh2';
import { shellQuote } from '@tensorify/executor-sdk/ssh';
import { withoutHostPrefix } from './config';
import type { HostState } from './hosts';
import { PRUNE_PROGRAM } from './python-programs';

/** How often the hosts' venvs are pruned; the first pruning comes this long after boot too (not in the way of the first runs). */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const FIRST_PRUNE_DELAY_MS = 60_000;
/** How long one host's pruning may take once connected (it walks the venvs to size them). */
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
 * Prunes the venvs of every host (each by the `cache` limits), in one SSH command per host:
 * python/prune.py lists the venvs with their size, last use and whether a run in flight on the
 * host (of any server) uses them, this side chooses with `cacheEntriesToPrune`, and prune.py
 * deletes those still unused. A host that is down or fails is skipped (a warning) until the next time.
 */
export class HostVenvPruner {
  private readonly schedule: CachePruneSchedule;
  private delay?: NodeJS.Timeout;

  constructor(private readonly options: HostVenvPrunerOptions) {
    this.schedule = new CachePruneSchedule(
      () => this.prune().then(() => undefined),
      options.intervalMs ?? PRUNE_INTERVAL_MS,
      (error) => options.logger.warn('ssh executor: pruning the hosts’ virtualenvs failed', { error: (error as Error).message }),
    );
  }

  /** Prunes after the first delay, then every interval; nothing when the cache has no limits. */
  start(): void {
    if (this.options.limits.maxBytes === null && this.options.limits.maxAgeMs === null) return;
    this.delay = setTimeout(() => this.schedule.start(), this.options.firstDelayMs ?? FIRST_PRUNE_DELAY_MS);
    this.delay.unref();
  }

  close(): Promise<void> {
    clearTimeout(this.delay);
    return this.schedule.close();
  }

  /** Prunes every host now (with the configured limits unless told others): the venvs deleted, by host name. */
  async prune(limits: CacheLimits = this.options.limits): Promise<Map<string, CachePruning[]>> {
    const pruned = new Map<string, CachePruning[]>();
    await Promise.all(
      this.options.hosts.map(async (host) => {
        if (host.down) return;
        try {
          pruned.set(host.name, await this.pruneHost(host, limits));
        } catch (error) {
          this.options.logger.warn(`ssh executor: cannot prune the virtualenvs of ${host.name}: ${withoutHostPrefix((error as Error).message)}`, {
            host: host.name,
          });
        }
      }),
    );
    return pruned;
  }

  private async pruneHost(host: HostState, limits: CacheLimits): Promise<CachePruning[]> {
    const connection = await host.connection();
    let reusable = false;
    try {
      const request = JSON.stringify({ venvDir: hostVenvDir(host) });
      const program = `exec(bytes.fromhex("${Buffer.from(PRUNE_PROGRAM).toString('hex')}"))`;
      const channel = await connection.exec(`${shellQuote(host.config.python)} -I -c ${shellQuote(program)} ${shellQuote(request)}`);
      let chosen: CachePruning[] = [];
      const answer = await exchange(channel, PRUNE_TIMEOUT_MS, (listing) => {
        const { venvs } = listing as { venvs: CacheEntry[] };
        chosen = cacheEntriesToPrune(venvs, limits);
        return { delete: chosen.map((entry) => entry.key) };
      });
      reusable = true;
      const { deleted } = answer as { deleted: string[]; kept: string[] };
      const pruned = chosen.filter((entry) => deleted.includes(entry.key));
      for (const entry of pruned) {
        this.options.logger.info(`ssh executor: pruned the virtualenv ${describeCachePruning(entry, limits)} on ${host.name}`, {
          host: host.name,
          reason: entry.reason,
          bytes: entry.sizeBytes,
        });
      }
      return pruned;
    } finally {
      host.release(connection, reusable);
    }
  }
}

/**
 * Reads the program's first JSON line, writes `reply(first)` as one JSON line to its stdin, and
 * resolves with its last JSON line once it ends. (The line protocol of prune.py; Connection.run
 * writes stdin only up front.)
 */
function exchange(channel: ClientChannel, timeoutMs: number, reply: (first: unknown) => unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let replied = false;
    const timer = setTimeout(() => {
      channel.close();
      reject(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    channel.on('error', (error: Error) => reject(error));
    channel.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString('utf8')).slice(-2000)));
    channel.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const newline = out.indexOf('\n');
      if (replied || newline < 0) return;
      replied = true;
      try {
        channel.end(JSON.stringify(reply(JSON.parse(out.slice(0, newline)))) + '\n');
      } catch (error) {
        channel.close();
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
    channel.once('close', (code: number | null) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      try {
        if (!replied || code !== 0) throw new Error('unfinished');
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`the pruning program ended with code ${code}: ${(err || out).trim().slice(-300)}`));
      }
    });
  });
}
