import { AbortedError, untilAborted } from './abort';

/** Where a build's lines go: every run waiting for it hears them (`'system'` lines of its log). */
export type BuildLog = (line: string) => void;

/** What {@link SharedBuilds.get} needs to know about one artefact (a virtualenv, an image). */
export interface SharedBuild<T> {
  /** The artefact when it is already there (built earlier, or by another process), else undefined. */
  ready(): Promise<T | undefined>;
  /** Builds it, stopping (and cleaning up) when `signal` aborts; `log` reaches every run waiting. */
  build(signal: AbortSignal, log: BuildLog): Promise<T>;
  /** The line logged by a run that waits for a build another run started. */
  waiting: string;
}

interface Build<T> {
  promise: Promise<T>;
  /** The log of every run waiting for this build. */
  listeners: Set<BuildLog>;
  /** Aborted once no run waits for the build any more. */
  controller: AbortController;
  settled: boolean;
}

/**
 * One build per key at a time in this process, shared by every run that needs it: a cache of
 * environments (virtualenvs, images) keyed by what they hold (see `normaliseRequirements`).
 *
 * A run that asks for an artefact being built waits for that build and hears its output; a run
 * whose signal aborts stops waiting at once (with {@link AbortedError}), and when the last run
 * waiting leaves, the build is aborted and `get` returns only once it has ended (its processes,
 * directories or containers gone). A build that fails is not remembered: the next run tries again.
 *
 * @example
 * ```ts
 * const venvs = new SharedBuilds<string>();
 * const dir = await venvs.get(hash, context.signal, (line) => context.log('system', line), {
 *   ready: () => readyVenv(hash),
 *   build: (signal, log) => buildVenv(hash, requirements, signal, log),
 *   waiting: `waiting for the virtualenv ${hash}, which another run is installing`,
 * });
 * ```
 */
export class SharedBuilds<T> {
  private readonly builds = new Map<string, Build<T>>();

  /**
   * The artefact of `key`: `ready()` when it is there, else the result of the build under way
   * for the key or of a new one. Rejects with {@link AbortedError} when `signal` aborts, and as
   * the build does when it fails.
   */
  async get(key: string, signal: AbortSignal, log: BuildLog, artefact: SharedBuild<T>): Promise<T> {
    for (;;) {
      const ready = await artefact.ready();
      if (ready !== undefined) return ready;
      if (signal.aborted) throw new AbortedError('aborted');
      let build = this.builds.get(key);
      if (build?.controller.signal.aborted) {
        // Being torn down because every run waiting for it left: let it end, then start anew.
        await build.promise.catch(() => undefined);
        continue;
      }
      if (build) {
        log(artefact.waiting);
        build.listeners.add(log);
      } else {
        build = this.start(key, log, artefact);
      }
      try {
        return await untilAborted(build.promise, signal);
      } finally {
        build.listeners.delete(log);
        if (build.listeners.size === 0 && !build.settled) {
          // The last run waiting for it left: stop the build, and return once it has ended.
          build.controller.abort();
          await build.promise.catch(() => undefined);
        }
      }
    }
  }

  private start(key: string, first: BuildLog, artefact: SharedBuild<T>): Build<T> {
    const controller = new AbortController();
    const listeners = new Set<BuildLog>([first]); // before the build starts: it may log at once
    const log = (line: string): void => listeners.forEach((listener) => listener(line));
    const promise = artefact.build(controller.signal, log).finally(() => {
      build.settled = true;
      if (this.builds.get(key) === build) this.builds.delete(key);
    });
    const build: Build<T> = { listeners, controller, settled: false, promise };
    promise.catch(() => undefined); // it may end with no run left to hear of it
    this.builds.set(key, build);
    return build;
  }
}
