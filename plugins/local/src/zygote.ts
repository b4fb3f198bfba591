import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import * as path from 'node:path';
import { LineSplitter, type PluginLogger } from '@tensorify/executor-sdk';

/** The zygote's program, shipped beside `dist/` (and `src/`). */
export const ZYGOTE_SCRIPT = path.join(__dirname, '..', 'python', 'zygote.py');

/** How long a zygote may take to import its modules (torch takes seconds on a busy machine). */
const READY_TIMEOUT_MS = 120_000;
/** How long the server waits for the zygote's answer to a fork order (when it must import modules first: READY_TIMEOUT_MS). */
const FORK_TIMEOUT_MS = 10_000;

/** A zygote, as `GET /v1/executors` shows it. */
export interface ZygoteInfo {
  /** The interpreter it is: a venv's `bin/python`, or the configured interpreter. */
  python: string;
  /** The venv's hash (its directory name), or null for the bare interpreter. */
  venv: string | null;
  pid: number | null;
  state: 'starting' | 'ready';
  startedAt: string;
  /** Runs forked from it. */
  runs: number;
  /** Runs of it still going. */
  running: number;
  /** Resident memory, in bytes (from /proc), when known. */
  memoryBytes: number | null;
  /** The modules it has imported. */
  modules: string[];
}

/** The zygote could not fork the run: nothing of it started, so it may start cold. */
export class ForkFailedError extends Error {}

/** The zygote died while the run went on: its exit code is lost (its process group was stopped). */
export const ZYGOTE_DIED = Symbol('zygote died');

interface Reply {
  op?: string;
  id?: string;
  pid?: number;
  error?: string;
  fatal?: boolean;
  status?: number;
  threads?: number;
  imported?: string[];
  failed?: Record<string, string>;
}

/** One zygote: a Python process of one interpreter that imported the programs' modules and forks runs. */
export class Zygote {
  readonly startedAt = new Date();
  lastUsedAt = Date.now();
  runs = 0;
  state: 'starting' | 'ready' | 'dead' = 'starting';
  modules: string[] = [];
  readonly ready: Promise<void>;
  private readonly child: ChildProcess;
  private readonly waiting = new Map<string, { resolve: (pid: number) => void; reject: (error: Error) => void }>();
  private readonly exits = new Map<number, (status: number | typeof ZYGOTE_DIED) => void>();
  private readonly exitStatuses = new Map<number, number>();
  private readonly replies: Socket;

  constructor(
    readonly python: string,
    readonly venv: string | null,
    readonly startupEnv: string,
    env: Record<string, string>,
    modules: string[],
    homeDir: string,
    private readonly logger: PluginLogger,
  ) {
    // Detached: a process group and session of its own, like a cold run's leader. fd 3 is the
    // lifeline (never written), fd 4 the replies (so that an import printing to stdout is harmless).
    this.child = spawn(python, [ZYGOTE_SCRIPT, JSON.stringify(modules)], {
      cwd: homeDir,
      env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    // An idle zygote must not keep the server's process alive; one starting or with runs going does
    // (see `holdOpen`), so that a short-lived caller (a CLI command, a script) waits for its runs.
    this.child.unref();
    for (const stream of this.child.stdio) (stream as Socket | null)?.unref?.();
    this.replies = this.child.stdio[4] as Socket;
    this.replies.ref();
    this.child.stdin?.on('error', () => undefined);
    const chatter = (line: string): void => this.logger.info('local executor: zygote output', { python, line });
    const out = new LineSplitter(4096, chatter);
    const err = new LineSplitter(4096, chatter);
    this.child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const replies = this.replies;
    let readyResolve!: () => void;
    let readyReject!: (error: Error) => void;
    this.ready = new Promise<void>((resolve, reject) => {
      readyResolve = resolve;
      readyReject = reject;
    });
    this.ready.catch(() => undefined);
    const timer = setTimeout(() => readyReject(new Error(`its imports took more than ${READY_TIMEOUT_MS / 1000} s`)), READY_TIMEOUT_MS);
    timer.unref();
    const replyLines = new LineSplitter(1 << 20, (line) => {
      let message: Reply;
      try {
        message = JSON.parse(line) as Reply;
      } catch {
        return;
      }
      if (message.op === 'ready') {
        clearTimeout(timer);
        this.modules = message.imported ?? [];
        if ((message.threads ?? 1) !== 1) readyReject(new Error(`its imports started ${message.threads} Python threads, so forking it is unsafe`));
        else {
          this.state = 'ready';
          this.holdOpen();
          readyResolve();
        }
      } else if (message.op === 'exit' && message.pid !== undefined) {
        const done = this.exits.get(message.pid);
        if (done) done(message.status ?? 1);
        else this.exitStatuses.set(message.pid, message.status ?? 1);
      } else if (message.id !== undefined) {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.imported) this.modules = message.imported;
        if (message.pid !== undefined) waiter?.resolve(message.pid);
        else waiter?.reject(new ForkFailedError(message.error ?? 'the zygote refused the fork'));
      }
    });
    replies.on('data', (chunk: Buffer) => replyLines.push(chunk));
    this.child.once('error', (error) => readyReject(error));
    this.child.once('exit', (code, signal) => {
      clearTimeout(timer);
      this.state = 'dead';
      const why = `the zygote ${this.child.pid ?? ''} exited (${signal ?? `code ${code}`})`;
      readyReject(new Error(why));
      for (const waiter of this.waiting.values()) waiter.reject(new ForkFailedError(why));
      this.waiting.clear();
      for (const done of this.exits.values()) done(ZYGOTE_DIED);
      this.exits.clear();
    });
  }

  /** Keeps the event loop alive while the zygote starts or runs of it go on; not when it idles. */
  private holdOpen(): void {
    if (this.state === 'starting' || this.waiting.size > 0 || this.exits.size > 0) this.replies.ref();
    else this.replies.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): number {
    return this.exits.size;
  }

  /** Resident memory from /proc (Linux), or undefined. */
  memoryBytes(): number | undefined {
    if (this.child.pid === undefined || this.state === 'dead') return undefined;
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      return kb ? Number(kb[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** Asks for a fork; resolves with the child's pid. */
  fork(order: Record<string, unknown>): Promise<number> {
    if (this.state !== 'ready' || !this.child.stdin?.writable) return Promise.reject(new ForkFailedError('the zygote is not ready'));
    const id = String(order.id);
    const known = new Set(this.modules);
    const imports = Array.isArray(order.modules) && order.modules.some((name) => !known.has(String(name)));
    const timeoutMs = imports ? READY_TIMEOUT_MS : FORK_TIMEOUT_MS;
    this.runs += 1;
    this.lastUsedAt = Date.now();
    return new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new ForkFailedError(`the zygote did not answer in ${timeoutMs / 1000} s`));
        this.stop(); // an unanswering zygote is of no more use; its late fork, if any, dies with it
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (pid) => {
          clearTimeout(timer);
          resolve(pid);
          this.holdOpen();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
          this.holdOpen();
        },
      });
      this.holdOpen();
      this.child.stdin!.write(JSON.stringify(order) + '\n');
    });
  }

  /** The fork's exit status (`waitstatus_to_exitcode`: -n for signal n), or ZYGOTE_DIED. */
  exited(pid: number): Promise<number | typeof ZYGOTE_DIED> {
    const known = this.exitStatuses.get(pid);
    if (known !== undefined) {
      this.exitStatuses.delete(pid);
      return Promise.resolve(known);
    }
    if (this.state === 'dead') return Promise.resolve(ZYGOTE_DIED);
    return new Promise((resolve) => {
      this.exits.set(pid, (status) => {
        this.exits.delete(pid);
        this.lastUsedAt = Date.now();
        this.holdOpen();
        resolve(status);
      });
      this.holdOpen();
    });
  }

  /** Kills the zygote (its runs are its forks' own process groups; the caller stops only idle zygotes). */
  stop(): void {
    if (this.state === 'dead' || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  info(): ZygoteInfo {
    return {
      python: this.python,
      venv: this.venv,
      pid: this.child.pid ?? null,
      state: this.state === 'ready' ? 'ready' : 'starting',
      startedAt: this.startedAt.toISOString(),
      runs: this.runs,
      running: this.running,
      memoryBytes: this.memoryBytes() ?? null,
      modules: [...this.modules],
    };
  }
}
