import type Docker from 'dockerode';
import { Writable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { LineSplitter } from '@tensorify/executor-sdk';
import { messageOf, withTimeout } from './engine';

/** Time limit of the quick engine calls (inspect, create, start, kill, archives, remove). */
export const CALL_TIMEOUT_MS = 60_000;
/** How long the output stream may stay open after the container stopped. */
const STREAM_END_WAIT_MS = 2_000;
/** How long to wait for a container to stop after SIGKILL before giving up on it (it is removed with force anyway). */
const KILL_WAIT_MS = 10_000;

export interface ContainerRunOptions {
  container: Docker.Container;
  /** Stops the container when aborted: SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  killGraceMs: number;
  maxLineBytes: number;
  onLine: (stream: 'stdout' | 'stderr', line: string) => void;
  /** Diagnostics of the runner itself (stopping the container). */
  onNotice: (line: string) => void;
}

export interface ContainerRunResult {
  /** The container's exit status (the program's, through docker-init: 128 + n when signal n ended it). */
  statusCode: number;
  /** Whether `signal` aborted while the container ran (it was stopped). */
  aborted: boolean;
}

/**
 * Starts a created container with its stdout and stderr attached (attached before the start, so
 * no byte is missed; split into lines, in the order the program wrote them) and resolves once it
 * has stopped and its output is read. When `signal` aborts, the container gets SIGTERM, then
 * SIGKILL after the grace period. It does not remove the container.
 */
export async function runContainer(options: ContainerRunOptions): Promise<ContainerRunResult> {
  const { container } = options;
  const streams = new AbortController(); // closes the attach and wait connections whatever happens
  try {
    const attached = await withTimeout(CALL_TIMEOUT_MS, 'attaching to the container', (signal) => {
      signal.addEventListener('abort', () => streams.abort(), { once: true });
      return container.attach({ stream: true, stdout: true, stderr: true, abortSignal: streams.signal });
    });
    const out = new LineSplitter(options.maxLineBytes, (line) => options.onLine('stdout', line));
    const err = new LineSplitter(options.maxLineBytes, (line) => options.onLine('stderr', line));
    const ended = new Promise<void>((resolve) => {
      attached.once('end', resolve);
      attached.once('close', resolve);
      attached.on('error', () => resolve()); // also when the connection is closed at the end: never unhandled
    });
    (container.modem as Docker['modem']).demuxStream(attached, lineSink(out), lineSink(err)); // the engine's modem, which @types/dockerode types as `any` on a container

    await withTimeout(CALL_TIMEOUT_MS, 'starting the container', (signal) => container.start({ abortSignal: signal }));
    const exited = (container.wait({ abortSignal: streams.signal }) as Promise<{ StatusCode: number }>).then(
      (answer) => ({ statusCode: answer.StatusCode }),
      (error: unknown) => ({ error }),
    );

    let aborted = false;
    let stopping: Promise<void> | undefined;
    const onAbort = (): void => {
      aborted = true;
      stopping ??= stopContainer(container, exited, options.killGraceMs, describeReason(options.signal?.reason), options.onNotice);
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    let exit: { statusCode: number } | { error: unknown };
    try {
      exit = await exited;
      if (stopping) await stopping;
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    if ('error' in exit) throw exit.error;

    const closed = await settlesWithin(ended, STREAM_END_WAIT_MS);
    if (!closed) options.onNotice('the output stream stayed open after the container stopped: no longer reading it');
    out.end();
    err.end();
    return { statusCode: exit.statusCode, aborted };
  } finally {
    streams.abort();
  }
}

/** SIGTERM, then SIGKILL after the grace period if the container still runs; resolves once it stopped (or a bounded wait passed). */
async function stopContainer(
  container: Docker.Container,
  exited: Promise<unknown>,
  graceMs: number,
  why: string,
  notice: (line: string) => void,
): Promise<void> {
  const short = container.id.slice(0, 12);
  notice(`stopping container ${short} (${why}): SIGTERM`);
  if (!(await signalContainer(container, 'SIGTERM'))) return;
  if (await settlesWithin(exited, graceMs)) return;
  notice(`container ${short} still running after ${graceMs / 1000} s: SIGKILL`);
  if (!(await signalContainer(container, 'SIGKILL'))) return;
  if (!(await settlesWithin(exited, KILL_WAIT_MS))) notice(`container ${short} still running ${KILL_WAIT_MS / 1000} s after SIGKILL: removing it by force`);
}

/** Sends a signal to the container's main process (docker-init, which passes it on); false when it is not running any more. */
async function signalContainer(container: Docker.Container, signal: NodeJS.Signals): Promise<boolean> {
  try {
    await withTimeout(CALL_TIMEOUT_MS, `sending ${signal}`, (abortSignal) => container.kill({ signal, abortSignal }));
    return true;
  } catch {
    // 409: not running; 404: gone; an engine error: the force removal still kills it.
    return false;
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([promise.then(() => true), delay(ms, false, { signal: timer.signal }).catch(() => false)]);
  } finally {
    timer.abort();
  }
}

function lineSink(splitter: LineSplitter): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      splitter.push(chunk);
      callback();
    },
  });
}

function describeReason(reason: unknown): string {
  if (reason === 'cancelled') return 'the run was cancelled';
  if (reason === 'timed_out') return 'the run timed out';
  if (reason === 'shutdown') return 'the server is shutting down';
  return 'the run was stopped';
}

/** Removes a container by force (killing it if it runs) with its anonymous volumes; a container already gone is fine. */
export async function removeContainer(container: Docker.Container): Promise<void> {
  try {
    await withTimeout(CALL_TIMEOUT_MS, 'removing the container', (signal) => container.remove({ force: true, v: true, abortSignal: signal }));
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) return;
    if (status === 409 && /already in progress/i.test(messageOf(error))) {
      await untilGone(container); // another call is removing it: resolve once it is gone
      return;
    }
    throw error;
  }
}

async function untilGone(container: Docker.Container): Promise<void> {
  const deadline = Date.now() + CALL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      await withTimeout(CALL_TIMEOUT_MS, 'inspecting the container', () => container.inspect());
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return;
      throw error;
    }
    await delay(100);
  }
}
