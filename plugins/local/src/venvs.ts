import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, realpath, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AbortedError,
  type CacheEntry,
  type CacheLimits,
  CachePruner,
  ExecutorUnavailableError,
  type PluginLogger,
  SharedBuilds,
} from '@tensorify/executor-sdk';
import type { Interpreter } from './interpreter';
import { delay, runInProcessGroup } from './process-group';

/**
 * The venv's name: a hash of the normalised requirements and of the interpreter they are
 * installed for (changing `python` must not reuse venvs built by another Python).
 */
export function requirementsHash(requirements: readonly string[], interpreter: Pick<Interpreter, 'executable' | 'version'>): string {
  const text = [`python ${interpreter.executable} ${interpreter.version}`, ...requirements].join('\n');
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

export interface VenvCacheOptions {
  dir: string;
  interpreter: Interpreter;
  pipArgs: readonly string[];
  /** The environment of `python -m venv` and pip, given the bin directory going first on PATH. */
  environment(binDir: string): Record<string, string>;
  killGraceMs: number;
  maxLineBytes: number;
  /** Called after a new venv was published (the pruner then looks at the cache again). */
  onBuilt?: () => void;
}

/** A venv given to a run: it is in use (never pruned) until `release()`. */
export interface VenvLease {
  dir: string;
  release(): void;
}

/** How often the holder of a lock file touches it; a lock untouched for LOCK_STALE_MS is abandoned. */
const LOCK_HEARTBEAT_MS = 5_000;
const LOCK_STALE_MS = 30_000;
const LOCK_POLL_MS = 200;
/** How many of pip's last lines the error of a failed install quotes. */
const ERROR_TAIL_LINES = 15;

type SystemLog = (line: string) => void;

/**
 * Virtualenvs, one per requirements hash, at `<dir>/<hash>`.
 *
 * A venv is built in `<dir>/<hash>-<random>` and published by atomically renaming a symlink to it
 * onto `<dir>/<hash>`: venvs cannot be moved once built (pip writes absolute paths into their
 * scripts), so the directory is never renamed, only the link. So `<dir>/<hash>` either does not
 * exist or is a complete venv. One build per hash at a time: runs of this process share a
 * promise, other processes (workers sharing the data dir) wait on the lock file `<dir>/<hash>.lock`.
 * A failed build removes its directory and leaves nothing behind.
 */
export class VenvCache {
  private readonly builds = new SharedBuilds<string>();

  constructor(private readonly options: VenvCacheOptions) {}

  /**
   * Like {@link get}, and the venv stays in use until the lease is released: its last-use mark is
   * touched now and every few seconds, which keeps pruners of this and other processes off it. A
   * venv pruned between `get` and the mark is noticed (its link is gone) and built again.
   */
  async acquire(requirements: readonly string[], signal: AbortSignal, log: SystemLog): Promise<VenvLease> {
    const link = path.join(this.options.dir, requirementsHash(requirements, this.options.interpreter));
    for (;;) {
      const dir = await this.get(requirements, signal, log);
      const lease = holdVenv(dir);
      await markUsed(dir);
      if ((await readyVenv(link)) === dir) return lease;
      lease.release(); // pruned meanwhile: build it again
    }
  }

  /**
   * The venv's directory for these requirements, built first if need be (pip's output goes to
   * `log`). Rejects with {@link AbortedError} when `signal` aborts, with an Error quoting pip
   * when the install fails, with ExecutorUnavailableError when venvs cannot be made at all.
   */
  async get(requirements: readonly string[], signal: AbortSignal, log: SystemLog): Promise<string> {
    const hash = requirementsHash(requirements, this.options.interpreter);
    const link = path.join(this.options.dir, hash);
    return this.builds.get(hash, signal, log, {
      ready: () => readyVenv(link),
      build: (buildSignal, buildLog) => this.build(hash, link, requirements, buildSignal, buildLog),
      waiting: `waiting for the virtualenv ${hash}, which another run is installing`,
    });
  }

  private async build(hash: string, link: string, requirements: readonly string[], signal: AbortSignal, log: SystemLog): Promise<string> {
    const { dir, interpreter } = this.options;
    if (!interpreter.canCreateVenvs) {
      throw new ExecutorUnavailableError(
        `${interpreter.executable} (Python ${interpreter.version}) cannot create virtualenvs (no venv/ensurepip module; on Debian and Ubuntu install python3-venv), so programs with requirements cannot run`,
      );
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const lock = await acquireLock(path.join(dir, `${hash}.lock`), signal, log);
    try {
      const ready = await readyVenv(link); // built by another process while this one waited
      if (ready) return ready;
      const suffix = randomBytes(4).toString('hex');
      const target = path.join(dir, `${hash}-${suffix}`);
      const tempLink = path.join(dir, `.${hash}-${suffix}.link`);
      try {
        log(`creating the virtualenv ${hash} for ${requirements.length} requirement(s): ${requirements.join(', ')}`);
        await this.step('python -m venv', interpreter.executable, ['-m', 'venv', target], dir, signal, log, path.dirname(interpreter.executable));
        const file = path.join(target, 'tensorify-requirements.txt');
        await writeFile(file, requirements.join('\n') + '\n', { mode: 0o600 });
        const bin = path.join(target, 'bin');
        const pipArgs = ['-m', 'pip', 'install', '--disable-pip-version-check', '-r', file, ...this.options.pipArgs];
        log(`pip install -r requirements.txt${this.options.pipArgs.length ? ' ' + this.options.pipArgs.join(' ') : ''}`);
        await this.step('pip install', path.join(bin, 'python'), pipArgs, target, signal, log, bin);
        await markUsed(target);
        await symlink(path.basename(target), tempLink);
        await rename(tempLink, link);
        log(`virtualenv ${hash} ready`);
        this.options.onBuilt?.();
        return await realpath(target); // as readyVenv says it, so leases and the pruner name it alike
      } catch (error) {
        await rm(tempLink, { force: true });
        await rm(target, { recursive: true, force: true });
        throw error;
      }
    } finally {
      await lock.release();
    }
  }

  /** Runs one setup command with its output in the log; throws with its last lines when it fails. */
  private async step(what: string, command: string, args: string[], cwd: string, signal: AbortSignal, log: SystemLog, binDir: string): Promise<void> {
    const tail: string[] = [];
    const line = (text: string): void => {
      log(text);
      tail.push(text);
      if (tail.length > ERROR_TAIL_LINES) tail.shift();
    };
    const result = await runInProcessGroup({
      command,
      args,
      cwd,
      env: this.options.environment(binDir),
      signal,
      killGraceMs: this.options.killGraceMs,
      maxLineBytes: this.options.maxLineBytes,
      onLine: (_stream, text) => line(text),
      onNotice: log,
    });
    if (result.aborted) throw new AbortedError('aborted');
    if (result.exitCode !== 0) {
      const status = result.exitCode === null ? `was killed by ${result.exitSignal}` : `exited with code ${result.exitCode}`;
      throw new Error(`${what} ${status}:\n${tail.join('\n')}`);
    }
  }
}

/** The real directory of a complete venv at `link`, or undefined. */
async function readyVenv(link: string): Promise<string | undefined> {
  try {
    const real = await realpath(link);
    await stat(path.join(real, 'bin', 'python'));
    return real;
  } catch {
    return undefined;
  }
}

interface Lock {
  release(): Promise<void>;
}

/**
 * Takes the lock file (created with O_EXCL), waiting while another live holder has it. The holder
 * touches it every few seconds; one untouched for LOCK_STALE_MS, or left by a dead process of
 * this host, is abandoned and taken over. (Two processes taking over the same stale lock at once
 * may both build: each publishes a complete venv by rename and the last one wins, so nothing
 * breaks; only work is wasted.)
 */
/** The lock files this process holds (several executors of one process may share a venv dir). */
const heldLocks = new Set<string>();

async function acquireLock(file: string, signal: AbortSignal, log: SystemLog): Promise<Lock> {
  let announced = false;
  for (;;) {
    if (signal.aborted) throw new AbortedError('aborted');
    const lock = await tryLock(file);
    if (lock) return lock;
    if (await lockIsStale(file)) {
      log(`taking over the abandoned lock ${file}`);
      await rm(file, { force: true });
      continue;
    }
    if (!announced) {
      log(`waiting for another process installing the same virtualenv (lock ${file})`);
      announced = true;
    }
    await delay(LOCK_POLL_MS);
  }
}

/** Takes the lock file when nobody holds it (touched every few seconds while held), else undefined: never waits. */
async function tryLock(file: string): Promise<Lock | undefined> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw error;
  }
  heldLocks.add(file); // before the owner is written: until then the file reads as empty, never as stale
  try {
    await handle.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() }));
  } catch (error) {
    heldLocks.delete(file);
    await rm(file, { force: true });
    throw error;
  } finally {
    await handle.close();
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(file, now, now).catch(() => undefined);
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      heldLocks.delete(file);
      await rm(file, { force: true });
    },
  };
}

async function lockIsStale(file: string): Promise<boolean> {
  let text: string;
  let mtimeMs: number;
  try {
    [text, { mtimeMs }] = await Promise.all([readFile(file, 'utf8'), stat(file)]);
  } catch {
    return false; // released meanwhile: just try again
  }
  if (Date.now() - mtimeMs > LOCK_STALE_MS) return true;
  try {
    const owner = JSON.parse(text) as { pid?: unknown; host?: unknown };
    if (owner.host !== os.hostname() || typeof owner.pid !== 'number') return false;
    // A lock with this process's pid that it does not hold is a leftover of a former process.
    if (owner.pid === process.pid) return !heldLocks.has(file);
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The file in a venv whose mtime is its last use: touched when a run takes the venv and every LOCK_HEARTBEAT_MS while it holds it. */
const LAST_USED_FILE = '.tensorify-last-used';
/** A venv whose mark was touched this recently is in use by some process (its holders touch it every LOCK_HEARTBEAT_MS). */
const IN_USE_MS = LOCK_STALE_MS;
/** How often the cache is pruned besides at boot and after each new venv. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;
const VENV_NAME = /^[0-9a-f]{32}$/;
const VENV_DIR_NAME = /^([0-9a-f]{32})-[0-9a-f]{8}$/;

/** The venvs this process's runs hold, by directory: how many leases each. */
const heldVenvs = new Map<string, number>();

function holdVenv(dir: string): VenvLease {
  heldVenvs.set(dir, (heldVenvs.get(dir) ?? 0) + 1);
  const heartbeat = setInterval(() => void markUsed(dir), LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  return {
    dir,
    release: () => {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      const left = (heldVenvs.get(dir) ?? 1) - 1;
      if (left > 0) heldVenvs.set(dir, left);
      else heldVenvs.delete(dir);
    },
  };
}

async function markUsed(dir: string): Promise<void> {
  const file = path.join(dir, LAST_USED_FILE);
  const now = new Date();
  try {
    await utimes(file, now, now);
  } catch {
    await writeFile(file, '', { mode: 0o600 }).catch(() => undefined); // the venv may be going: nothing to mark
  }
}

/** When the venv was last used: its mark, or (a venv made before marks existed) the directory's own mtime. */
async function lastUsed(dir: string): Promise<number> {
  try {
    return (await stat(path.join(dir, LAST_USED_FILE))).mtimeMs;
  } catch {
    return (await stat(dir)).mtimeMs;
  }
}

/** Held by a run of this process, by a warm zygote (`busy`), or marked by a run of another process within IN_USE_MS. */
async function venvInUse(hash: string, dir: string, busy: ReadonlySet<string | null>): Promise<boolean> {
  if ((heldVenvs.get(dir) ?? 0) > 0 || busy.has(hash)) return true;
  try {
    return Date.now() - (await stat(path.join(dir, LAST_USED_FILE))).mtimeMs < IN_USE_MS;
  } catch {
    return false;
  }
}

/** Bytes of the files under `dir`. (Node has no `du`; a venv's few thousand files are walked once per pruning.) */
async function directorySize(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const info = await lstat(path.join(dir, name)).catch(() => undefined);
    if (info && !info.isDirectory()) total += info.size;
  }
  return total;
}

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

export interface VenvPrunerOptions {
  /** The venv cache's directory (every interpreter's venvs). */
  dir: string;
  limits: CacheLimits;
  logger: PluginLogger;
  /** The hashes of the venvs in use besides those runs hold: the warm zygotes' (null: the bare interpreter). */
  busy?: () => Iterable<string | null>;
  intervalMs?: number;
}

/**
 * Prunes the venv cache (see `cacheEntriesToPrune`): at boot, every hour and after each new venv.
 * A venv in use — being built (its lock is held), held by a run of any process sharing the dir,
 * or serving a warm zygote — is never deleted. Deleting takes the venv's build lock, unpublishes
 * the venv (its link is renamed away, so a run now looking for it waits for the lock and builds
 * it anew), checks once more that no run took it meanwhile (else puts the link back), and only
 * then removes the directory.
 */
export class VenvPruner extends CachePruner<Venv> {
  constructor(options: VenvPrunerOptions) {
    super({
      limits: options.limits,
      list: () => listVenvs(options),
      remove: (venv) => deleteVenv(venv, options),
      pruned: (venv, description) =>
        options.logger.info(`local executor: pruned the virtualenv ${description}`, { dir: venv.dir, reason: venv.reason, bytes: venv.sizeBytes }),
      onError: (error) => options.logger.warn('local executor: pruning the virtualenvs failed', { dir: options.dir, error: (error as Error).message }),
      intervalMs: options.intervalMs ?? PRUNE_INTERVAL_MS,
    });
  }
}

/** A published venv as the pruner sees it: its hash is the key; `dir` is the cache's real directory, `target` the venv's. */
export interface Venv extends CacheEntry {
  dir: string;
  target: string;
}

/** The published venvs, sized; the leftovers of crashed builds and prunings (which are no entries) are removed on the way. */
async function listVenvs(options: VenvPrunerOptions): Promise<Venv[]> {
  const busy = new Set(options.busy?.() ?? []);
  let dir: string;
  let names: string[];
  try {
    dir = await realpath(options.dir);
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const venvs: Venv[] = [];
  for (const hash of names.filter((name) => VENV_NAME.test(name))) {
    const target = await readyVenv(path.join(dir, hash));
    if (!target) continue;
    const building = await exists(path.join(dir, `${hash}.lock`));
    venvs.push({
      key: hash,
      dir,
      target,
      sizeBytes: await directorySize(target),
      lastUsedAt: await lastUsed(target),
      inUse: building || (await venvInUse(hash, target, busy)),
    });
  }
  await removeLeftovers(dir, names, new Set(venvs.map((venv) => path.basename(venv.target))), options.logger);
  return venvs;
}

/** Deletes one venv unless it is in use or being built; whether it did. */
async function deleteVenv({ dir, key: hash, target }: Venv, options: VenvPrunerOptions): Promise<boolean> {
  const busy = new Set(options.busy?.() ?? []);
  const lock = await tryLock(path.join(dir, `${hash}.lock`));
  if (!lock) return false;
  try {
    if (await venvInUse(hash, target, busy)) return false;
    const link = path.join(dir, hash);
    if ((await readyVenv(link)) !== target) return false;
    const unpublished = path.join(dir, `.${path.basename(target)}.pruning`);
    await rename(link, unpublished);
    if (await venvInUse(hash, target, busy)) {
      await rename(unpublished, link); // a run took it just now
      return false;
    }
    await rm(unpublished, { force: true });
    await rm(target, { recursive: true, force: true, maxRetries: 3 });
    return true;
  } finally {
    await lock.release();
  }
}

/** Venv directories no link points to and links being pruned, left by a build or a pruning that crashed. */
async function removeLeftovers(dir: string, names: string[], published: ReadonlySet<string>, logger: PluginLogger): Promise<void> {
  for (const name of names) {
    const hash = VENV_DIR_NAME.exec(name)?.[1] ?? /^\.([0-9a-f]{32})-[0-9a-f]{8}\.pruning$/.exec(name)?.[1];
    if (!hash || published.has(name)) continue;
    const lock = await tryLock(path.join(dir, `${hash}.lock`));
    if (!lock) continue; // being built: its directory is not published yet
    try {
      if ((await readyVenv(path.join(dir, hash))) === path.join(dir, name)) continue; // published meanwhile
      await rm(path.join(dir, name), { recursive: true, force: true, maxRetries: 3 });
      logger.info(`local executor: removed ${name}, left in the virtualenv cache by a build or pruning that did not finish`, { dir });
    } finally {
      await lock.release();
    }
  }
}
