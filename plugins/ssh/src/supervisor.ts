/**
 * The server's side of the supervisor that runs programs on a host.
 *
 * A supervisor is one SSH exec channel: `exec <python> -I -u -c <bootstrap> <protocol.json>`. The server writes
 * its code (a decimal length, a newline, the code), which the bootstrap runs; the supervisor
 * answers with an `H` frame. It can be started ahead, while its connection waits in the pool, so
 * that the host's login shell (which may take a while, e.g. `pyenv init` in a .bashrc) is out of
 * a run's way. A run starts with a line `RUN <json>`; after a run that ended on its own the
 * supervisor waits for the next `RUN` (one run at a time), after any other it exits.
 *
 * Supervisor → server, on stdout: frames of one kind byte, a 4-byte big-endian length, the payload.
 * The kinds, by the names python/protocol.json gives them (both sides read it: {@link FRAME}):
 *
 * | name | kind | payload |
 * | --- | --- | --- |
 * | `hello` | `H` | JSON `{pid, python, version}`: the supervisor is ready |
 * | `group` | `G` | JSON `{what: "program" \| "pip", pid, pgid}`: a process group started |
 * | `stdout`, `stderr` | `o`, `e` | the program's stdout, stderr bytes |
 * | `pip` | `S` | bytes of pip's output (stdout and stderr merged) |
 * | `system` | `s` | one line of the supervisor's own (system) |
 * | `output` | `O` | the bytes of the program's TENSORIFY_OUTPUT file |
 * | `end` | `X` | JSON: the run's end `{exitCode, signal, stopped, started, removed, failure?}` |
 *
 * Server → supervisor, on stdin: the code, `RUN <json>`, `TERM <dir>` (stop that run: SIGTERM to
 * its group, then SIGKILL after the grace period); end of file (the server or the connection is
 * gone) makes it SIGKILL the running group at once. Its stderr is for its own crashes only.
 */
import { shellQuote, type Connection } from '@tensorify/executor-sdk/ssh';
import type { ClientChannel } from 'ssh2';
import { BOOTSTRAP_PROGRAM, CHECK_PROGRAM, FRAME, PROTOCOL_JSON, SUPERVISOR_PROGRAM } from './python-programs';

/** What the supervisor of a run is told (`RUN <json>`). */
export interface RunSpec {
  /** The run directory (uploaded), relative to the user's home unless absolute. */
  dir: string;
  /** The executor's variables (LANG, TENSORIFY_*); PATH and HOME go under them, TENSORIFY_OUTPUT over everything. */
  env: Record<string, string>;
  /** The configured `env`: for programs and pip. */
  configEnv: Record<string, string>;
  /** Names copied from the supervisor's own environment. */
  passEnv: string[];
  jobEnv: Record<string, string>;
  /** The interpreter's arguments: `main.py` (and `--inputs FILE`). */
  args: string[];
  /** Normalised requirements; none: the configured interpreter runs the program. */
  requirements: string[];
  venvDir: string;
  pipArgs: string[];
  graceSeconds: number;
  keepWorkDir: boolean;
}

/** The `X` frame. */
export interface RunEnd {
  exitCode: number | null;
  signal: number | null;
  /** Why the program was stopped: `term` (asked), `lifeline` (stdin closed); null when it ended on its own. */
  stopped: 'term' | 'lifeline' | null;
  /** Whether the program was started (false when stopped or failed while preparing its venv). */
  started: boolean;
  removed: boolean;
  failure?: { kind: 'build' | 'spawn' | 'unavailable' | 'internal'; message: string };
}

export interface SupervisorHello {
  pid: number;
  python: string;
  version: string;
}

/** Splits the supervisor's stdout into frames. */
export class FrameParser {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly onFrame: (kind: string, payload: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    for (;;) {
      if (this.size < 5) return;
      const head = this.peek(5);
      const length = head.readUInt32BE(1);
      if (this.size < 5 + length) return;
      const all = this.take(5 + length);
      this.onFrame(String.fromCharCode(all[0]), all.subarray(5));
    }
  }

  private peek(bytes: number): Buffer {
    if (this.chunks[0].length >= bytes) return this.chunks[0];
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined;
  }

  private take(bytes: number): Buffer {
    const joined = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = joined.length > bytes ? [joined.subarray(bytes)] : [];
    this.size = joined.length - bytes;
    return joined.subarray(0, bytes);
  }
}

/**
 * The command that starts a supervisor with the host's interpreter (no shell syntax besides `exec`
 * and quoting). `-I` (isolated): the home directory (the session's working directory) is not on
 * sys.path, so a stray `json.py` there cannot shadow the standard library; PYTHON* variables and
 * the user's site-packages are ignored.
 */
export function supervisorCommand(python: string): string {
  const bootstrap = `exec(bytes.fromhex("${Buffer.from(BOOTSTRAP_PROGRAM).toString('hex')}"))`;
  return `exec ${shellQuote(python)} -I -u -c ${shellQuote(bootstrap)} ${shellQuote(PROTOCOL_JSON)}`;
}

/** The command that confirms a stopped run is gone (see python/check.py). */
export function checkCommand(python: string, request: { pgids: number[]; dir: string; remove: boolean; wait: number }): string {
  const check = `exec(bytes.fromhex("${Buffer.from(CHECK_PROGRAM).toString('hex')}"))`;
  return `${shellQuote(python)} -I -c ${shellQuote(check)} ${shellQuote(JSON.stringify(request))}`;
}

const MAX_STDERR = 8192;

/**
 * A started supervisor: its channel, and the frames it sent so far. `ready` resolves with its
 * hello, or rejects (with what it printed on stderr) when it ended first: the interpreter is missing,
 * is not Python 3…
 */
export class Supervisor {
  readonly ready: Promise<SupervisorHello>;
  /** Resolves when the channel closed. */
  readonly closed: Promise<void>;
  isClosed = false;
  stderr = '';
  private listener?: (kind: string, payload: Buffer) => void;
  private readonly backlog: { kind: string; payload: Buffer }[] = [];

  constructor(readonly channel: ClientChannel) {
    let hello: (value: SupervisorHello) => void;
    let failed: (error: Error) => void;
    this.ready = new Promise<SupervisorHello>((resolve, reject) => {
      hello = resolve;
      failed = reject;
    });
    this.ready.catch(() => undefined);
    const parser = new FrameParser((kind, payload) => {
      if (kind === FRAME.hello) {
        try {
          hello(JSON.parse(payload.toString('utf8')) as SupervisorHello);
        } catch (error) {
          failed(error as Error);
        }
        return;
      }
      if (this.listener) this.listener(kind, payload);
      else this.backlog.push({ kind, payload });
    });
    channel.on('data', (chunk: Buffer) => parser.push(chunk));
    channel.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < MAX_STDERR) this.stderr += chunk.toString('utf8');
    });
    channel.on('error', () => undefined);
    this.closed = new Promise<void>((resolve) => {
      channel.once('close', (code: number | null) => {
        this.isClosed = true;
        const said = this.stderr.trim().split('\n').slice(-5).join(' | ');
        failed(new Error(said || `it ended with exit status ${code ?? 'unknown'} before saying hello`));
        resolve();
      });
    });
  }

  /** Starts a supervisor on the connection and sends it its code; use `ready` to know it runs. */
  static async start(connection: Connection, python: string): Promise<Supervisor> {
    const channel = await connection.exec(supervisorCommand(python));
    const supervisor = new Supervisor(channel);
    const code = Buffer.from(SUPERVISOR_PROGRAM);
    channel.write(Buffer.concat([Buffer.from(`${code.length}\n`), code]));
    return supervisor;
  }

  /** Receives the frames after the hello (those that came before are replayed at once). */
  listen(listener: (kind: string, payload: Buffer) => void): void {
    this.listener = listener;
    for (const { kind, payload } of this.backlog.splice(0)) listener(kind, payload);
  }

  send(line: string): void {
    if (!this.isClosed) this.channel.write(`${line}\n`);
  }

  /** Closes its stdin: the lifeline; a supervisor still running a program SIGKILLs its group. */
  endInput(): void {
    if (!this.isClosed) this.channel.end();
  }

  /** Closes the channel (sshd then closes the supervisor's pipes). */
  close(): void {
    if (!this.isClosed) this.channel.close();
  }
}
