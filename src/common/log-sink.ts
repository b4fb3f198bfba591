import type { DestinationStream } from 'pino';

/** What the sink hands its chunks to: pino's SonicBoom in sync mode (it owns the fd: partial writes, EAGAIN, EPIPE). */
export interface ChunkWriter {
  write(chunk: string): boolean;
  flushSync(): void;
}

export interface LogSinkOptions {
  /** A chunk goes out as soon as this many characters of lines are waiting. */
  flushChars: number;
  /** And the lines of a quiet moment go out at most this long after the first of them. */
  flushMs: number;
}

const DEFAULT_LOG_SINK_OPTIONS: LogSinkOptions = { flushChars: 4096, flushMs: 10 };

/**
 * The log destination: lines are gathered and written in chunks, one write per 4 KiB under load,
 * yet no line waits more than `flushMs` for the next ones (a quiet server's lines show at once in
 * `docker logs -f`), and what is waiting is written when the process exits.
 *
 * Why not SonicBoom's own buffering (`minLength`): it holds lines below `minLength` until more
 * come, with no time limit, and per line it either measures the whole pending text
 * (`Buffer.byteLength`, which flattens it) or, in its buffer mode, encodes the line into a Buffer
 * of its own. Here a line is appended to a string (V8 joins them without copying) and the chunk is
 * encoded once, by the one write. The writes themselves stay SonicBoom's, synchronous, as pino's
 * default destination is: a log reader that cannot keep up slows the server down rather than
 * filling its memory.
 */
export class LogSink implements DestinationStream {
  private pending = '';
  /** One timer, made on the first line and re-armed (`refresh`) after it fired: no timer object per window. */
  private timer: NodeJS.Timeout | undefined;
  private armed = false;

  constructor(
    private readonly out: ChunkWriter,
    private readonly options: LogSinkOptions = DEFAULT_LOG_SINK_OPTIONS,
  ) {}

  write(line: string): boolean {
    this.pending += line;
    if (this.pending.length >= this.options.flushChars) this.writePending();
    else if (!this.armed) this.arm();
    return true;
  }

  /** Writes what is waiting, now (pino calls it from `logger.flush()`). */
  flush(done?: (error?: Error) => void): void {
    try {
      this.flushSync();
    } catch (error) {
      if (done === undefined) throw error;
      return done(error as Error);
    }
    done?.();
  }

  flushSync(): void {
    this.writePending();
    this.out.flushSync();
  }

  private arm(): void {
    this.armed = true;
    if (this.timer !== undefined) this.timer.refresh();
    else {
      this.timer = setTimeout(() => {
        this.armed = false;
        this.writePending();
      }, this.options.flushMs);
      this.timer.unref(); // a quiet process may exit: its exit handler writes what is waiting
    }
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const chunk = this.pending;
    this.pending = '';
    this.out.write(chunk);
  }
}
