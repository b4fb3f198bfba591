import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, realpath, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { AbortedError, ExecutorUnavailableError, SharedBuilds } from '@tensorify/executor-sdk';
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
        await symlink(path.basename(target), tempLink);
        await rename(tempLink, link);
        log(`virtualenv ${hash} ready`);
        return target;
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
  const owner = JSON.stringify({ pid: process.pid, host: os.hostname(), since: new Date().toISOString() });
  let announced = false;
  for (;;) {
    if (signal.aborted) throw new AbortedError('aborted');
    try {
      const handle = await open(file, 'wx', 0o600);
      heldLocks.add(file); // before the owner is written: until then the file reads as empty, never as stale
      try {
        await handle.writeFile(owner);
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
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
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
