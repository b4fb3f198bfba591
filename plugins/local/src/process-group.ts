import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { LineSplitter } from '@tensorify/executor-sdk';

/** How long to wait for a process group to vanish after SIGKILL before giving up on it. */
const KILL_WAIT_MS = 5_000;
/** How often a process group is checked while waiting for it to vanish. */
const POLL_MS = 50;
/** How long the pipes may stay open after the process group is gone (a daemon that left the group). */
const PIPE_CLOSE_WAIT_MS = 1_000;

export interface GroupRunOptions {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Stops the process group when aborted: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs: number;
  maxLineBytes: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Diagnostics of the runner itself (stopping the group, leftovers). */
  onNotice?: (line: string) => void;
  onSpawn?: (pid: number) => void;
  /**
   * Caps the command's memory (RLIMIT_DATA, soft and hard, in bytes; why that limit: the note
   * above LIFELINE_SCRIPT), set by the leader shell for the command alone; none when undefined.
   */
  memoryLimitBytes?: number;
}

export interface GroupRunResult {
  pid: number;
  /** The exit code; null when the process ended by a signal. */
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  /** Whether `signal` aborted while the process ran (the group was stopped). */
  aborted: boolean;
}

/**
 * Runs a command as the leader of its own process group, with its stdout and stderr split into
 * lines, and resolves only once the leader has exited and no live process is left in its group:
 * when `signal` aborts, the group gets SIGTERM, then SIGKILL after the grace period; processes
 * the command leaves behind when it exits on its own are stopped the same way.
 *
 * Rejects only when the command cannot be started (e.g. ENOENT); nothing is left running then.
 */
export function runInProcessGroup(options: GroupRunOptions): Promise<GroupRunResult> {
  return new Promise<GroupRunResult>((resolve, reject) => {
    // The group's leader is a shell holding a lifeline: its stdin is a pipe from this process,
    // never written. If the server dies (even by SIGKILL) the pipe closes, and the shell's
    // watcher kills the whole group, so no run outlives the server that owns it.
    const limitKb = options.memoryLimitBytes === undefined ? '' : String(Math.floor(options.memoryLimitBytes / 1024));
    const child = spawn('/bin/sh', ['-c', LIFELINE_SCRIPT, 'tensorify-run', limitKb, options.command, ...options.args], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin?.on('error', () => undefined);
    const pid = child.pid;
    if (pid === undefined) {
      child.once('error', reject);
      return;
    }
    // Errors after a successful spawn (a failed kill…) are not fatal: the exit event still comes.
    child.on('error', () => undefined);
    options.onSpawn?.(pid);

    const out = new LineSplitter(options.maxLineBytes, (line) => options.onLine('stdout', line));
    const err = new LineSplitter(options.maxLineBytes, (line) => options.onLine('stderr', line));
    const stdout = child.stdout;
    const stderr = child.stderr;
    stdout.on('data', (chunk: Buffer) => out.push(chunk));
    stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const stdoutDone = ended(stdout);
    const stderrDone = ended(stderr);

    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
      child.once('exit', (code, signal) => done({ code, signal }));
    });

    let aborted = false;
    let stopping: Promise<void> | undefined;
    const stop = (why: string): Promise<void> => {
      stopping ??= stopGroup(pid, options.killGraceMs, why, options.onNotice);
      return stopping;
    };
    const onAbort = (): void => {
      aborted = true;
      void stop(`stopping process group ${pid} (${describeReason(options.signal?.reason)})`);
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    void (async () => {
      const exit = await exited;
      child.stdin?.destroy();
      options.signal?.removeEventListener('abort', onAbort);
      if (stopping) await stopping;
      else if (await groupAlive(pid)) await stop(`process ${pid} exited and left processes behind in its group: stopping them`);
      // The group is gone; the pipes close with it unless a process left the group holding them.
      const closed = await Promise.race([Promise.all([stdoutDone, stderrDone]).then(() => true), delay(PIPE_CLOSE_WAIT_MS).then(() => false)]);
      if (!closed) {
        options.onNotice?.('the output pipes stayed open after the program ended (a process left its group?): no longer reading them');
        stdout.destroy();
        stderr.destroy();
      }
      out.end();
      err.end();
      resolve({ pid, exitCode: exit.code, exitSignal: exit.signal, aborted });
    })().catch(reject);
  });
}

/*
 * Which limit caps a run's memory (`memoryLimitMb`): RLIMIT_DATA, not RLIMIT_AS. RLIMIT_AS counts every mapping,
 * also address space reserved and never used. Measured here (Python 3.11, torch 2.13 CPU, numpy
 * 2.4) after a small model's forward pass: 623 MiB of address space for 225 MiB resident (215 MiB
 * data), so `ulimit -v 600M` makes `import torch` itself fail with MemoryError; with 16 OpenMP
 * threads and 8 Python threads that allocate, 1986 MiB of address space (glibc reserves 64 MiB per
 * thread arena) for 237 MiB resident and 633 MiB data. RLIMIT_DATA (Linux ≥ 4.7) counts the
 * private writable mappings — the heap, anonymous mmaps, thread stacks (8 MiB each, most never
 * touched) — and not the libraries' code nor PROT_NONE reservations: under `ulimit -d 600M` torch
 * imports and runs, and a 1 GiB tensor or numpy array fails as its own "cannot allocate" error
 * (torch's RuntimeError, numpy's _ArrayMemoryError, Python's MemoryError) instead of the process
 * being killed. Set the limit above what the run's threads reserve as stacks.
 */

/**
 * $1 is the memory limit in KiB (empty: none), then the program "$@". Runs the program, with its
 * limit set (by `ulimit -d` in a subshell that then execs it, so only the program has it) and stdin
 * from /dev/null, and beside it a watcher reading the shell's stdin (kept on fd 3: a background
 * job's stdin would be /dev/null): at end of file, which only comes when the server's end of the
 * pipe closes, it kills the whole process group. When the program ends, the shell stops the
 * watcher and exits with the program's status (128 + n when a signal n ended it).
 *
 * The limit is set here, in the leader shell the run has anyway, rather than with `prlimit`
 * (util-linux, not on every machine) or a Python preamble (it would change what `python main.py`
 * is); dash, bash, busybox sh and zsh all have `ulimit -d` (KiB; soft and hard at once).
 */
const LIFELINE_SCRIPT = [
  'unset PWD OLDPWD',
  'limit=$1',
  'shift',
  'exec 3<&0',
  'if [ -n "$limit" ]; then',
  '  (ulimit -d "$limit" || { echo "tensorify: cannot set the memory limit (ulimit -d $limit)" >&2; exit 126; }; exec "$@") </dev/null 3<&- &',
  'else',
  '  "$@" </dev/null 3<&- &',
  'fi',
  'program=$!',
  '(while IFS= read -r _ <&3; do :; done; kill -KILL 0) >/dev/null 2>&1 &',
  'watcher=$!',
  'exec 3<&-',
  'wait "$program"',
  'status=$?',
  'kill "$watcher" 2>/dev/null',
  // Reaped before the shell exits, so the group is empty at once (no /proc scan for leftovers).
  'wait "$watcher" 2>/dev/null',
  'exit "$status"',
].join('\n');

/** SIGTERM to the group, SIGKILL after `graceMs` if anything is left, then waits (bounded) for it to vanish. */
export async function stopGroup(pgid: number, graceMs: number, why: string, notice?: (line: string) => void): Promise<void> {
  if (!(await groupAlive(pgid))) return;
  notice?.(`${why}: SIGTERM`);
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitGroupGone(pgid, graceMs)) return;
  notice?.(`process group ${pgid} still alive after ${graceMs / 1000} s: SIGKILL`);
  if (!signalGroup(pgid, 'SIGKILL')) return;
  if (!(await waitGroupGone(pgid, KILL_WAIT_MS))) {
    notice?.(`process group ${pgid} still has processes ${KILL_WAIT_MS / 1000} s after SIGKILL (uninterruptible sleep?): giving up on it`);
  }
}

/** Sends a signal to a process group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: a member we may not signal (a setuid program); keep waiting for the others.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await delay(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

/**
 * Whether a process group still has a live member. `kill(-pgid, 0)` answers ESRCH once every
 * member is gone; on Linux a group holding only zombies (dead processes whose parent has not
 * reaped them yet, e.g. orphans under a PID 1 that never reaps) also counts as gone.
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return false;
    if (code !== 'EPERM') throw error;
  }
  if (process.platform !== 'linux') return true;
  const states = await groupStates(pgid);
  return states === undefined || states.some((state) => state !== 'Z' && state !== 'X');
}

/** The states (R, S, Z…) of the processes of a group, from /proc; undefined when /proc cannot be read. */
async function groupStates(pgid: number): Promise<string[] | undefined> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return undefined;
  }
  const states: string[] = [];
  await Promise.all(
    entries
      .filter((entry) => /^\d+$/.test(entry))
      .map(async (entry) => {
        let stat: string;
        try {
          stat = await readFile(`/proc/${entry}/stat`, 'utf8');
        } catch {
          return; // gone meanwhile
        }
        // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[2]) === pgid) states.push(fields[0]);
      }),
  );
  return states;
}

function describeReason(reason: unknown): string {
  if (reason === 'cancelled') return 'the run was cancelled';
  if (reason === 'timed_out') return 'the run timed out';
  if (reason === 'shutdown') return 'the server is shutting down';
  return 'the run was aborted';
}

function ended(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((done) => {
    stream.once('end', done);
    stream.once('close', done);
    stream.once('error', done);
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
